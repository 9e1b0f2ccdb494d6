//! Quantized convolution and matrix multiplication: `QLinearConv`, `ConvInteger`,
//! `QLinearMatMul`, `MatMulInteger` here, and the builders `com.microsoft::QGemm` and the QDQ
//! groups share.
//!
//! `QLinearConv` becomes `qnn.conv2d → [add bias] → qnn.requantize` where the requantize's
//! input scale is `f32(x_scale · w_scale[k])` with zero point 0: its float-mode multiplier is
//! then `f32(f32(x_scale · w_scale[k]) / y_scale)`, exactly ORT's. Matrix products become
//! `qnn.dense` against a `[N, K]` kernel (the transposed `B`); batched `B` uses the core
//! `matmul` on zero-point-shifted i16 operands.

use ndarray::{ArrayD, IxDyn};
use qnn_ir::{
    Conv2dAttrs, DType, DataLayout, KernelLayout, Op, QuantParams, Rounding, Tensor, ValueId,
};

use super::context::Importer;
use super::node::{Form, Node};
use super::window::{spatial, window};
use crate::error::OnnxError;

/// What a quantized linear op produces.
#[derive(Debug, Clone)]
pub(crate) enum Out {
    /// The int32 accumulator (ConvInteger, MatMulInteger).
    Int32,
    /// Requantized to these parameters.
    Requant { q: QuantParams, dtype: DType },
    /// `f32(acc) · scale` (QGemm without `y_scale`, ORT's MatMulIntegerToFloat).
    Float,
}

/// A quantized operand: its value and parameters.
#[derive(Debug, Clone)]
pub(crate) struct Operand {
    pub value: ValueId,
    pub q: QuantParams,
}

fn int8(n: &Node<'_>, i: usize, d: DType) -> Result<(), OnnxError> {
    if d.is_8bit() {
        Ok(())
    } else {
        Err(n.input_error(i, format!("element type {d} is not supported (u8 or i8)")))
    }
}

/// Zero points only (ConvInteger, MatMulInteger): scale 1.
fn zero_points(
    im: &Importer<'_>,
    n: &Node<'_>,
    i: usize,
    dtype: DType,
    axis: Option<usize>,
) -> Result<QuantParams, OnnxError> {
    let Some(z) = im.opt_constant(n, i)? else { return Ok(QuantParams::per_tensor(1.0, 0)) };
    if z.ty.dtype() != Some(dtype) {
        return Err(n.input_error(i, format!("zero point of type {} for {dtype} data", z.ty)));
    }
    let zp: Vec<i32> = z.ints().unwrap_or_default().iter().map(|&v| v as i32).collect();
    match (zp.len(), axis) {
        (0, _) => Err(n.input_error(i, "the zero point is empty")),
        (1, _) => Ok(QuantParams::per_tensor(1.0, zp[0])),
        (_, Some(axis)) => Ok(QuantParams::per_axis(vec![1.0], zp, axis)),
        (len, None) => {
            Err(n.input_error(i, format!("{len} zero points: only a scalar is supported")))
        }
    }
}

/// `QLinearConv` and `ConvInteger`.
pub(super) fn conv(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    let qlinear = n.op() == "QLinearConv";
    if qlinear {
        n.arity(8, 9, 1)?
    } else {
        n.arity(2, 4, 1)?
    }
    let w_index = if qlinear { 3 } else { 1 };
    let (xt, wt) = (im.input_type(n, 0)?, im.input_type(n, w_index)?);
    int8(n, 0, xt.dtype)?;
    int8(n, w_index, wt.dtype)?;
    let (xq, wq, out) = if qlinear {
        let ydtype = im.zp_dtype(n, 7, None)?;
        (
            im.qparams(n, 1, Some(2), xt.dtype, None)?,
            im.qparams(n, 4, Some(5), wt.dtype, Some(0))?,
            Out::Requant { q: im.qparams(n, 6, Some(7), ydtype, None)?, dtype: ydtype },
        )
    } else {
        (
            zero_points(im, n, 2, xt.dtype, None)?,
            zero_points(im, n, 3, wt.dtype, Some(0))?,
            Out::Int32,
        )
    };
    let x = Operand { value: im.value(n, 0)?, q: xq };
    let w = Operand { value: im.value(n, w_index)?, q: wq };
    let bias = if qlinear && n.input(8).is_some() { Some(im.value(n, 8)?) } else { None };
    let y = build_conv(im, n, x, w, bias, &out, n.output(0)?)?;
    im.bind(n.output(0)?, y);
    Ok(Form::QOperator)
}

/// Convolution attributes of `n` for data and weights of these shapes (NCHW, OIHW).
pub(crate) fn conv_attrs(n: &Node<'_>, x: &[usize], w: &[usize]) -> Result<Conv2dAttrs, OnnxError> {
    let [_, _, kh, kw] = w[..] else {
        return Err(
            n.unsupported(format!("weights of shape {w:?}: only 2-D convolutions are supported"))
        );
    };
    let win = window(n, spatial(n, x, false)?, Some([kh, kw]), false)?;
    let groups = n.attrs.int_or("group", 1)?;
    let groups = usize::try_from(groups)
        .ok()
        .filter(|&g| g >= 1)
        .ok_or_else(|| n.attrs.error("group", format!("{groups} must be ≥ 1")))?;
    Ok(Conv2dAttrs {
        strides: win.strides,
        padding: win.padding,
        dilation: win.dilation,
        groups,
        data_layout: DataLayout::Nchw,
        kernel_layout: KernelLayout::Oihw,
    })
}

/// `qnn.conv2d → [add bias] → requantize / dequantize`.
pub(crate) fn build_conv(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: Operand,
    w: Operand,
    bias: Option<ValueId>,
    out: &Out,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let (xs, ws) = (im.ty(x.value).shape, im.ty(w.value).shape);
    let conv = conv_attrs(n, &xs, &ws)?;
    let op = Op::QnnConv2d { conv, input: x.q.clone(), kernel: w.q.clone() };
    let last = bias.is_none() && matches!(out, Out::Int32);
    let mut acc = im.emit(n, &stem(name, "conv", last), op, &[x.value, w.value])?;
    if let Some(b) = bias {
        let m = ws[0];
        let b = channel_vector(im, n, b, m, &[1, m, 1, 1])?;
        acc = im.emit(n, &stem(name, "bias", matches!(out, Out::Int32)), Op::Add, &[acc, b])?;
    }
    finish(im, n, acc, &x.q, &w.q, 1.0, 1, out, name)
}

fn stem(name: &str, part: &str, last: bool) -> String {
    if last { name.to_string() } else { format!("{name}/{part}") }
}

/// A per-channel i32 vector (a bias) reshaped to `shape` for a broadcasting add.
pub(super) fn channel_vector(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    v: ValueId,
    channels: usize,
    shape: &[usize],
) -> Result<ValueId, OnnxError> {
    let t = im.ty(v);
    if t.dtype != DType::I32 || t.shape.iter().product::<usize>() != channels {
        return Err(n.unsupported(format!("bias of type {t}: expected i32 with {channels} values")));
    }
    if let Some(c) = im.b.graph().constant(v).cloned() {
        let vals = c.to_i64().map(|a| a.iter().map(|&x| x as i32).collect()).unwrap_or_default();
        let t = Tensor::from_vec(shape, vals).map_err(|e| n.ir(e))?;
        let name = format!("{}/reshaped", im.b.graph().value(v).name);
        return im.emit_const(n, &name, t);
    }
    let name = format!("{}/reshaped", im.b.graph().value(v).name);
    im.emit(n, &name, Op::Reshape { shape: shape.to_vec() }, &[v])
}

/// The accumulator's scale per output channel, `f32(f32(alpha · s_a) · s_b[k])`, as ORT
/// computes it (left to right, in f32), with zero point 0 along `axis`.
fn acc_params(a: &QuantParams, b: &QuantParams, alpha: f32, axis: usize) -> QuantParams {
    let sa = alpha * a.scale[0];
    let scales: Vec<f32> = b.scale.iter().map(|&s| sa * s).collect();
    if scales.len() == 1 {
        QuantParams::per_tensor(scales[0], 0)
    } else {
        QuantParams::per_axis(scales, vec![0], axis)
    }
}

/// Scales valid one by one (finite, > 0) whose f32 product `x_scale · w_scale` underflows to
/// 0 (or overflows), or whose requantization multiplier `x_scale · w_scale / y_scale` is not
/// finite, are refused with the values and what happened to them: "scale 0" or "inf" alone
/// would not say which number the user wrote.
fn check_products(
    n: &Node<'_>,
    a: &QuantParams,
    b: &QuantParams,
    alpha: f32,
    acc: &QuantParams,
    out: &Out,
) -> Result<(), OnnxError> {
    let valid = |s: f32| s.is_finite() && s > 0.0;
    let error = |msg: String| OnnxError::Scale { node: n.label.clone(), op_type: n.op_type(), msg };
    let sa = a.scale[0];
    if !valid(sa) || !valid(alpha) {
        return Ok(());
    }
    let alpha_text = if alpha == 1.0 { String::new() } else { format!("alpha {alpha:e} × ") };
    for (k, (&sb, &p)) in b.scale.iter().zip(&acc.scale).enumerate() {
        if !valid(sb) {
            continue;
        }
        let channel = if b.scale.len() > 1 { format!(" (channel {k})") } else { String::new() };
        if p == 0.0 {
            return Err(error(format!(
                "{alpha_text}input scale {sa:e} × weight scale {sb:e}{channel} underflowed to 0 \
                 in f32 (the smallest f32 is 1.4e-45): the accumulator's scale must be > 0"
            )));
        }
        if !p.is_finite() {
            return Err(error(format!(
                "{alpha_text}input scale {sa:e} × weight scale {sb:e}{channel} overflowed to \
                 {p} in f32"
            )));
        }
        if let Out::Requant { q, .. } = out {
            let sy = q.scale[0];
            let m = p / sy;
            if valid(sy) && !m.is_finite() {
                return Err(error(format!(
                    "output scale {sy:e}: the requantization multiplier input scale × weight \
                     scale / output scale = {p:e} / {sy:e}{channel} is {m} in f32; the output \
                     scale must be larger"
                )));
            }
        }
    }
    Ok(())
}

/// Requantizes (or scales to f32) the accumulator per `out`.
#[allow(clippy::too_many_arguments)]
pub(super) fn finish(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    acc: ValueId,
    a: &QuantParams,
    b: &QuantParams,
    alpha: f32,
    axis: usize,
    out: &Out,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let input = acc_params(a, b, alpha, axis);
    check_products(n, a, b, alpha, &input, out)?;
    match out {
        Out::Int32 => Ok(acc),
        Out::Requant { q, dtype } => {
            let op = Op::QnnRequantize {
                input,
                output: q.clone(),
                rounding: Rounding::Float,
                out_dtype: *dtype,
            };
            im.emit(n, name, op, &[acc])
        }
        Out::Float => im.emit(n, name, Op::QnnDequantize { input }, &[acc]),
    }
}

/// `QLinearMatMul` and `MatMulInteger`.
pub(super) fn matmul(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    let qlinear = n.op() == "QLinearMatMul";
    if qlinear {
        n.arity(8, 8, 1)?
    } else {
        n.arity(2, 4, 1)?
    }
    let b_index = if qlinear { 3 } else { 1 };
    let (at, bt) = (im.input_type(n, 0)?, im.input_type(n, b_index)?);
    int8(n, 0, at.dtype)?;
    int8(n, b_index, bt.dtype)?;
    let (aq, bq, out) = if qlinear {
        let ydtype = im.zp_dtype(n, 7, None)?;
        (
            im.qparams(n, 1, Some(2), at.dtype, None)?,
            im.qparams(n, 4, Some(5), bt.dtype, Some(0))?,
            Out::Requant { q: im.qparams(n, 6, Some(7), ydtype, None)?, dtype: ydtype },
        )
    } else {
        (
            zero_points(im, n, 2, at.dtype, None)?,
            zero_points(im, n, 3, bt.dtype, Some(0))?,
            Out::Int32,
        )
    };
    let a = Operand { value: im.value(n, 0)?, q: aq };
    let b_name = n.input(b_index).unwrap_or_default().to_string();
    let y = build_matmul(im, n, a, &b_name, bq, false, None, 1.0, &out, n.output(0)?)?;
    im.bind(n.output(0)?, y);
    Ok(Form::QOperator)
}

/// `A × B` (or `A × Bᵀ` when `b_transposed`, B then `[N, K]`) with per-tensor `a` parameters
/// and per-tensor or per-column (`N`) `b` parameters, plus an optional i32 bias broadcast to
/// the `[.., N]` result, then `out`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_matmul(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    a: Operand,
    b_name: &str,
    bq: QuantParams,
    b_transposed: bool,
    bias: Option<ValueId>,
    alpha: f32,
    out: &Out,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let at = im.ty(a.value);
    let b_value = im.value_of(b_name)?;
    let bt = im.ty(b_value);
    let per_column = bq.channels() > 1;
    let n_cols = match (bt.rank(), b_transposed) {
        (2, false) => bt.shape[1],
        (2, true) => bt.shape[0],
        (r, false) if r > 2 => bt.shape[r - 1],
        _ => return Err(n.unsupported(format!("B of shape {:?}: expected rank ≥ 2", bt.shape))),
    };
    if per_column && bq.channels() != n_cols {
        return Err(n.unsupported(format!("{} B parameters for {n_cols} columns", bq.channels())));
    }
    let last = bias.is_none() && matches!(out, Out::Int32);
    let mut acc = if bt.rank() == 2 {
        let kernel = nk_kernel(im, n, b_name, b_value, b_transposed)?;
        let kq = QuantParams { axis: per_column.then_some(0), ..bq.clone() };
        let op = Op::QnnDense { input: a.q.clone(), kernel: kq };
        im.emit(n, &stem(name, "dense", last), op, &[a.value, kernel])?
    } else {
        // Batched B: (a − a_zp) × (b − b_zp) in i16 with the core matmul.
        let a16 = shifted_i16(im, n, a.value, &a.q.zero_point, &format!("{name}/a"))?;
        let b16 = shifted_i16(im, n, b_value, &bq.zero_point, &format!("{name}/b"))?;
        if at.rank() < 2 {
            return Err(n.unsupported(format!("A of shape {:?} with batched B", at.shape)));
        }
        im.emit(n, &stem(name, "matmul", last), Op::MatMul, &[a16, b16])?
    };
    let out_rank = im.ty(acc).rank();
    if let Some(bias) = bias {
        acc = im.emit(n, &stem(name, "bias", matches!(out, Out::Int32)), Op::Add, &[acc, bias])?;
    }
    finish(im, n, acc, &a.q, &bq, alpha, out_rank - 1, out, name)
}

/// `x − zp` in i16 (zero points along the last axis when there are several).
fn shifted_i16(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: ValueId,
    zp: &[i32],
    name: &str,
) -> Result<ValueId, OnnxError> {
    let x16 = im.emit(n, &format!("{name}16"), Op::Cast { to: DType::I16 }, &[x])?;
    if zp.iter().all(|&z| z == 0) {
        return Ok(x16);
    }
    let z: Vec<i16> = zp.iter().map(|&z| z as i16).collect();
    let zt = Tensor::from_vec(&[z.len()], z).map_err(|e| n.ir(e))?;
    let zc = im.emit_const(n, &format!("{name}_zp"), zt)?;
    im.emit(n, &format!("{name}_shifted"), Op::Subtract, &[x16, zc])
}

/// The `[N, K]` kernel of a 2-D `B`: transposed at import when constant, by a `transpose`
/// op otherwise (nothing to do when it already is `[N, K]`).
fn nk_kernel(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    b_name: &str,
    b: ValueId,
    b_transposed: bool,
) -> Result<ValueId, OnnxError> {
    if b_transposed {
        return Ok(b);
    }
    if let Some(t) = im.b.graph().constant(b).cloned() {
        let shape = t.shape().to_vec();
        let ints = t.to_i64().ok_or_else(|| n.unsupported("B must be an integer tensor"))?;
        let tr = ints.reversed_axes().as_standard_layout().into_owned();
        let tr = ArrayD::from_shape_vec(IxDyn(&[shape[1], shape[0]]), tr.iter().copied().collect())
            .map_err(|e| n.unsupported(e.to_string()))?;
        let kt = Tensor::from_i64("transpose", t.dtype(), tr).map_err(|e| n.ir(e))?;
        return im.emit_const(n, &format!("{b_name}/nk"), kt);
    }
    im.emit(n, &format!("{b_name}/nk"), Op::Transpose { perm: vec![1, 0] }, &[b])
}
