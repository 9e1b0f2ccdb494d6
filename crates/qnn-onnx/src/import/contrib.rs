//! ONNX Runtime's `com.microsoft` quantized ops, and the builders the QDQ groups share:
//! `QLinearAdd`, `QLinearMul`, `QLinearGlobalAveragePool`, `QLinearAveragePool`,
//! `QLinearConcat`, `QLinearLeakyRelu`, `QLinearSigmoid` and `QGemm`.
//!
//! The float-mode QNN ops reproduce ORT's x86 kernels (see `qnn_ir::Op`); where ORT's kernel
//! would overflow or refuses the parameters, the import is refused with the reason.

use qnn_ir::{DType, DataLayout, Op, Pool2dAttrs, QuantParams, Rounding, Tensor, ValueId};

use super::context::Importer;
use super::linear::{Operand, Out, build_matmul};
use super::lookup::{Activation, table};
use super::node::{Form, Node};
use super::quantize::axis;
use super::window::{spatial, window};
use crate::error::OnnxError;

pub(super) fn import(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    match n.op() {
        "QLinearAdd" | "QLinearMul" => {
            n.arity(7, 8, 1)?;
            let (at, bt) = (im.input_type(n, 0)?, im.input_type(n, 3)?);
            let (a, b) = (operand(im, n, 0, 1, 2, at.dtype)?, operand(im, n, 3, 4, 5, bt.dtype)?);
            let dtype = im.zp_dtype(n, 7, Some(at.dtype))?;
            let y = im.qparams(n, 6, Some(7), dtype, None)?;
            let out = n.output(0)?;
            let v = build_binary(im, n, n.op() == "QLinearMul", a, b, y, dtype, out)?;
            im.bind(out, v);
        }
        "QLinearGlobalAveragePool"
        | "QLinearAveragePool"
        | "QLinearLeakyRelu"
        | "QLinearSigmoid" => {
            n.arity(4, 5, 1)?;
            let xt = im.input_type(n, 0)?;
            let x = operand(im, n, 0, 1, 2, xt.dtype)?;
            let dtype = im.zp_dtype(n, 4, Some(xt.dtype))?;
            let y = im.qparams(n, 3, Some(4), dtype, None)?;
            let out = n.output(0)?;
            let v = match n.op() {
                "QLinearGlobalAveragePool" => {
                    let last = n.attrs.flag("channels_last", false)?;
                    build_global_avg_pool(im, n, x, y, dtype, last, out)?
                }
                "QLinearAveragePool" => {
                    let last = n.attrs.flag("channels_last", false)?;
                    build_avg_pool(im, n, x, y, dtype, last, out)?
                }
                "QLinearLeakyRelu" => {
                    let alpha = n.attrs.float_or("alpha", 0.01)?;
                    build_lookup(im, n, x, y, dtype, Activation::LeakyRelu(alpha), out)?
                }
                _ => build_lookup(im, n, x, y, dtype, Activation::Sigmoid, out)?,
            };
            im.bind(out, v);
        }
        "QLinearConcat" => {
            let k = n.p.input.len();
            if k < 5 || !(k - 2).is_multiple_of(3) {
                return Err(n.unsupported(format!(
                    "{k} inputs: expected y_scale, y_zero_point and (x, scale, zero point) triples"
                )));
            }
            let dtype = im.zp_dtype(n, 1, None)?;
            let y = im.qparams(n, 0, Some(1), dtype, None)?;
            let mut xs = Vec::new();
            for j in (2..k).step_by(3) {
                let t = im.input_type(n, j)?;
                xs.push(operand(im, n, j, j + 1, j + 2, t.dtype)?);
            }
            let rank = im.ty(xs[0].value).rank();
            let ax = axis(
                n,
                "axis",
                n.attrs.int("axis")?.ok_or_else(|| n.attrs.error("axis", "is required"))?,
                rank,
            )?;
            let out = n.output(0)?;
            let v = build_concat(im, n, xs, y, dtype, ax, out)?;
            im.bind(out, v);
        }
        "QGemm" => qgemm(im, n)?,
        op => return Err(n.unsupported(format!("com.microsoft op `{op}` is not supported"))),
    }
    Ok(Form::QOperator)
}

/// A quantized input with its per-tensor scale and optional zero point.
fn operand(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: usize,
    scale: usize,
    zp: usize,
    dtype: DType,
) -> Result<Operand, OnnxError> {
    if !dtype.is_8bit() {
        return Err(n.input_error(x, format!("element type {dtype} is not supported (u8 or i8)")));
    }
    let q = im.qparams(n, scale, Some(zp), dtype, None)?;
    Ok(Operand { value: im.value(n, x)?, q })
}

/// True when ORT's broadcasting loop treats input 0 as the scalar operand: it looks at the
/// innermost output dimension larger than 1 (the last one when there is none) and calls
/// input 0 scalar when input 0 is 1 there (`TBroadcaster::IsInput0Scalar`). QLinearAdd then
/// swaps the operands, which changes its FMA order.
pub(crate) fn input0_is_scalar(a: &[usize], b: &[usize]) -> bool {
    let min = a.len().min(b.len());
    if min == 0 {
        return a.is_empty() || a.last() == Some(&1);
    }
    for i in 0..min {
        let (da, db) = (a[a.len() - 1 - i], b[b.len() - 1 - i]);
        if da.max(db) == 1 && i + 1 < min {
            continue;
        }
        return da == 1;
    }
    false
}

/// `qnn.add` / `qnn.mul` in float mode, with ORT's operand order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_binary(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    mul: bool,
    a: Operand,
    b: Operand,
    y: QuantParams,
    dtype: DType,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let (sa, sb, sy) = (a.q.scale[0], b.q.scale[0], y.scale[0]);
    // ORT's AVX2 kernels convert with cvtps2dq, which returns i32::MIN beyond ±2^31: refuse
    // parameters that can get there instead of computing a different answer.
    let bound = if mul {
        65536.0 * f64::from((sa * sb) / sy)
    } else {
        let (ra, rb) = (f64::from(sa / sy), f64::from(sb / sy));
        256.0 * (ra + rb) * 2.0 + 256.0
    };
    if bound.is_nan() || bound >= 2f64.powi(31) {
        return Err(n.unsupported(format!(
            "scale ratios {sa:e}, {sb:e} → {sy:e} are so large that ORT's kernel overflows int32"
        )));
    }
    let (sa_shape, sb_shape) = (im.ty(a.value).shape, im.ty(b.value).shape);
    let (l, r) = if !mul && input0_is_scalar(&sa_shape, &sb_shape) { (b, a) } else { (a, b) };
    let op = if mul {
        Op::QnnMul { lhs: l.q, rhs: r.q, output: y, rounding: Rounding::Float, out_dtype: dtype }
    } else {
        Op::QnnAdd { lhs: l.q, rhs: r.q, output: y, rounding: Rounding::Float, out_dtype: dtype }
    };
    im.emit(n, name, op, &[l.value, r.value])
}

fn layout(channels_last: bool) -> DataLayout {
    if channels_last { DataLayout::Nhwc } else { DataLayout::Nchw }
}

/// `qnn.global_avg_pool2d`, refusing what MLAS refuses (it throws for these).
pub(crate) fn build_global_avg_pool(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: Operand,
    y: QuantParams,
    dtype: DType,
    channels_last: bool,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let shape = im.ty(x.value).shape;
    let [h, w] = spatial(n, &shape, channels_last)?;
    let count = h * w;
    let scale = x.q.scale[0] / (y.scale[0] * count as f32);
    if count >= 1 << 24 || !(2f32.powi(-32)..256.0).contains(&scale) {
        return Err(n.unsupported(format!(
            "ORT rejects a global average pool over {count} cells with scale {scale:e} (out of its computation range)"
        )));
    }
    let op = Op::QnnGlobalAvgPool2d {
        layout: layout(channels_last),
        input: x.q,
        output: y,
        rounding: Rounding::Float,
        out_dtype: dtype,
    };
    im.emit(n, name, op, &[x.value])
}

/// `qnn.avg_pool2d` (or the global pool, where ORT falls back to it: a window covering the
/// whole image without padding).
pub(crate) fn build_avg_pool(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: Operand,
    y: QuantParams,
    dtype: DType,
    channels_last: bool,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let shape = im.ty(x.value).shape;
    let hw = spatial(n, &shape, channels_last)?;
    let count_include_pad = n.attrs.flag("count_include_pad", false)?;
    let win = window(n, hw, None, true)?;
    if win.dilation != [1, 1] {
        return Err(n.attrs.error("dilations", "ORT's QLinearAveragePool has no dilation"));
    }
    let pads_given = n.attrs.ints("pads")?.is_some_and(|p| p.iter().any(|&v| v != 0));
    if win.kernel == hw && !pads_given && win.padding == [0; 4] {
        return build_global_avg_pool(im, n, x, y, dtype, channels_last, name);
    }
    let pool = Pool2dAttrs {
        kernel: win.kernel,
        strides: win.strides,
        padding: win.padding,
        dilation: win.dilation,
        layout: layout(channels_last),
    };
    let op = Op::QnnAvgPool2d {
        pool,
        count_include_pad,
        input: x.q,
        output: y,
        rounding: Rounding::Float,
        out_dtype: dtype,
    };
    im.emit(n, name, op, &[x.value])
}

/// `qnn.concatenate`.
pub(crate) fn build_concat(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    xs: Vec<Operand>,
    y: QuantParams,
    dtype: DType,
    axis: usize,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let values: Vec<ValueId> = xs.iter().map(|x| x.value).collect();
    let op = Op::QnnConcatenate {
        inputs: xs.into_iter().map(|x| x.q).collect(),
        output: y,
        axis,
        rounding: Rounding::Float,
        out_dtype: dtype,
    };
    im.emit(n, name, op, &values)
}

/// A 256-entry `lookup` built the way ORT builds QLinearLeakyRelu / QLinearSigmoid tables.
pub(crate) fn build_lookup(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: Operand,
    y: QuantParams,
    dtype: DType,
    f: Activation,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let in_dtype = im.ty(x.value).dtype;
    if in_dtype != dtype {
        return Err(n.unsupported(format!("input {in_dtype} and output {dtype} differ")));
    }
    let values = table(in_dtype, &x.q, &y, f);
    let t = Tensor::from_i64("lookup table", dtype, ndarray::Array1::from(values).into_dyn())
        .map_err(|e| n.ir(e))?;
    let tc = im.emit_const(n, &format!("{name}/table"), t)?;
    im.emit(n, name, Op::Lookup, &[x.value, tc])
}

/// `com.microsoft::QGemm(A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?, y_zp?)`.
fn qgemm(im: &mut Importer<'_>, n: &Node<'_>) -> Result<(), OnnxError> {
    n.arity(6, 9, 1)?;
    let (at, bt) = (im.input_type(n, 0)?, im.input_type(n, 3)?);
    for (i, t) in [(0, &at), (3, &bt)] {
        if !t.dtype.is_8bit() || t.rank() != 2 {
            return Err(n.input_error(i, format!("{t}: QGemm takes 2-D u8/i8 matrices")));
        }
    }
    let alpha = n.attrs.float_or("alpha", 1.0)?;
    let trans_a = n.attrs.flag("transA", false)?;
    let trans_b = n.attrs.flag("transB", false)?;
    let aq = im.qparams(n, 1, Some(2), at.dtype, None)?;
    let bq = im.qparams(n, 4, Some(5), bt.dtype, Some(0))?;
    let out = if n.input(7).is_some() {
        let dtype = im.zp_dtype(n, 8, Some(at.dtype))?;
        Out::Requant { q: im.qparams(n, 7, Some(8), dtype, None)?, dtype }
    } else {
        Out::Float
    };
    let name = n.output(0)?;
    let mut a = im.value(n, 0)?;
    if trans_a {
        a = im.emit(n, &format!("{name}/aT"), Op::Transpose { perm: vec![1, 0] }, &[a])?;
    }
    let bias = match n.input(6) {
        Some(_) => Some(im.value(n, 6)?),
        None => None,
    };
    let b_name = n.input(3).unwrap_or_default().to_string();
    let y = build_matmul(
        im,
        n,
        Operand { value: a, q: aq },
        &b_name,
        bq,
        trans_b,
        bias,
        alpha,
        &out,
        name,
    )?;
    im.bind(name, y);
    Ok(())
}
