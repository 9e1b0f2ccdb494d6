//! `com.microsoft::QLinearSoftmax`, and `DequantizeLinear → Softmax → QuantizeLinear`, which
//! ONNX Runtime fuses into it, composed of core ops that compute what ORT 1.32's CPU kernel
//! computes (checked against it on random rows of u8 and s8 data):
//! * a table of 256 f32 values `f32(exp((i − 255 + b) · s_x))` (in f64), where
//!   `b = max(0, ln(f32(f32::MAX / D)) − 5) / s_x` keeps any row's sum finite;
//! * per row of `D` elements: `e = table[x − max(row) + 255]`, `sum = Σ e` in f32 in order,
//!   `r = rne(f32(e · floor(1 / s_y)) / sum)`, output `min(r + zp_y, q_max)` (a product that
//!   overflows to infinity saturates).
//!
//! Before opset 13 a row is everything from `axis` on; since, the `axis` dimension alone
//! (ORT swaps it with the last one).

use qnn_ir::{DType, DataLayout, Op, Pool2dAttrs, PoolKind, QuantParams, Tensor, ValueId};

use super::context::Importer;
use super::node::{Form, Node};
use super::quantize::axis;
use crate::error::OnnxError;

/// `com.microsoft::QLinearSoftmax(X, X_scale, X_zero_point?, Y_scale, Y_zero_point?)`.
pub(super) fn import(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(4, 5, 1)?;
    let xt = im.input_type(n, 0)?;
    if !xt.dtype.is_8bit() {
        return Err(n.input_error(0, format!("element type {}: expected u8 or i8", xt.dtype)));
    }
    let xq = im.qparams(n, 1, None, xt.dtype, None)?;
    let dtype = im.zp_dtype(n, 4, Some(xt.dtype))?;
    if dtype != xt.dtype {
        return Err(n.unsupported(format!("input {} and output {dtype} differ", xt.dtype)));
    }
    let yq = im.qparams(n, 3, Some(4), dtype, None)?;
    let opset = n.attrs.int("opset")?.ok_or_else(|| n.attrs.error("opset", "is required"))?;
    let x = im.value(n, 0)?;
    let out = n.output(0)?;
    let y = build(im, n, x, xq.scale[0], &yq, opset, out)?;
    im.bind(out, y);
    Ok(Form::QOperator)
}

/// The softmax of the 8-bit `x` (scale `x_scale`) into `y`'s parameters, with the `axis`
/// attribute of `n` read as Softmax-`opset` reads it; the last node named `name`.
pub(crate) fn build(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: ValueId,
    x_scale: f32,
    y: &QuantParams,
    opset: i64,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let (shape, dtype) = (im.ty(x).shape, im.ty(x).dtype);
    let rank = shape.len();
    let legacy = opset < 13;
    let ax = axis(n, "axis", n.attrs.int_or("axis", if legacy { 1 } else { -1 })?, rank)?;
    let y_scale = y.scale[0];
    let usable = |s: f32| s.is_finite() && s > 0.0;
    if !usable(x_scale) || !usable(y_scale) {
        return Err(n.unsupported(format!(
            "scales {x_scale:e} → {y_scale:e}: QLinearSoftmax needs positive finite scales"
        )));
    }
    let part = |p: &str| format!("{name}/{p}");
    // Rows of D elements: [N, D].
    let (rows, dims, moved) = if legacy {
        let dims = [shape[..ax].iter().product(), shape[ax..].iter().product()];
        let flat = im.emit(n, &part("rows"), Op::Reshape { shape: dims.to_vec() }, &[x])?;
        (flat, dims, None)
    } else {
        let mut perm: Vec<usize> = (0..rank).collect();
        perm.swap(ax, rank - 1);
        let t = if ax + 1 == rank {
            x
        } else {
            im.emit(n, &part("axis_last"), Op::Transpose { perm: perm.clone() }, &[x])?
        };
        let tshape = im.ty(t).shape;
        let dims = [tshape[..rank - 1].iter().product(), shape[ax]];
        let flat = im.emit(n, &part("rows"), Op::Reshape { shape: dims.to_vec() }, &[t])?;
        (flat, dims, (ax + 1 != rank).then_some((perm, tshape)))
    };
    let probs = softmax_rows(im, n, rows, dims, x_scale, y, dtype, name)?;
    let y = match moved {
        None => im.emit(n, name, Op::Reshape { shape }, &[probs])?,
        Some((perm, tshape)) => {
            let t = im.emit(n, &part("rows_back"), Op::Reshape { shape: tshape }, &[probs])?;
            im.emit(n, name, Op::Transpose { perm }, &[t])?
        }
    };
    Ok(y)
}

/// ORT's exp table for rows of `d` elements (see the module comment).
fn exp_table(x_scale: f32, d: usize) -> Vec<f32> {
    let headroom = f64::from(f32::MAX / d as f32).ln();
    let shift = (headroom - 5.0).max(0.0) / f64::from(x_scale);
    (0..256).map(|i| ((f64::from(i) - 255.0 + shift) * f64::from(x_scale)).exp() as f32).collect()
}

#[allow(clippy::too_many_arguments)]
fn softmax_rows(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    rows: ValueId,
    [count, d]: [usize; 2],
    x_scale: f32,
    y: &QuantParams,
    dtype: DType,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let part = |p: &str| format!("{name}/{p}");
    let scalar_f32 = |v: f32| Tensor::F32(ndarray::arr0(v).into_dyn());
    // The row maximum: a [1, D] max window over the rows seen as [1, N, 1, D].
    let img = im.emit(n, &part("rows4"), Op::Reshape { shape: vec![1, count, 1, d] }, &[rows])?;
    let pool = Pool2dAttrs {
        kernel: [1, d],
        strides: [1, 1],
        padding: [0; 4],
        dilation: [1, 1],
        layout: DataLayout::Nchw,
    };
    let max4 =
        im.emit(n, &part("max4"), Op::Pool2d { kind: PoolKind::Max, pool, pad_value: 0 }, &[img])?;
    let max = im.emit(n, &part("max"), Op::Reshape { shape: vec![count, 1] }, &[max4])?;
    // x − max + 255, an index in 0..=255.
    let xi = im.emit(n, &part("x_i32"), Op::Cast { to: DType::I32 }, &[rows])?;
    let mi = im.emit(n, &part("max_i32"), Op::Cast { to: DType::I32 }, &[max])?;
    let below = im.emit(n, &part("below_max"), Op::Subtract, &[xi, mi])?;
    let top = im.emit_const(n, &part("top"), Tensor::I32(ndarray::arr0(255).into_dyn()))?;
    let idx = im.emit(n, &part("index_i32"), Op::Add, &[below, top])?;
    let idx = im.emit(n, &part("index"), Op::Cast { to: DType::U8 }, &[idx])?;
    let table = Tensor::F32(ndarray::Array1::from(exp_table(x_scale, d)).into_dyn());
    let table = im.emit_const(n, &part("exp_table"), table)?;
    let e = im.emit(n, &part("exp"), Op::Lookup, &[idx, table])?;
    let sum = im.emit(n, &part("sum"), Op::Sum { axes: vec![1], keepdims: true }, &[e])?;
    let inv = im.emit_const(n, &part("inv_scale"), scalar_f32((1.0 / y.scale[0]).floor()))?;
    let scaled = im.emit(n, &part("scaled"), Op::Multiply, &[e, inv])?;
    let ratio = im.emit(n, &part("ratio"), Op::Divide, &[scaled, sum])?;
    let r = im.emit(n, &part("rounded"), Op::Round, &[ratio])?;
    // r ≥ 0; past 512 every zero point saturates the output anyway (and ∞ becomes finite).
    let r = im.emit(n, &part("bounded"), Op::Clip { min: 0.0, max: 512.0 }, &[r])?;
    let zp = im.emit_const(n, &part("zero_point"), scalar_f32(y.zero_point[0] as f32))?;
    let v = im.emit(n, &part("shifted"), Op::Add, &[r, zp])?;
    // The cast saturates at the dtype's maximum (r + zp never falls below its minimum).
    im.emit(n, &part("quantized"), Op::Cast { to: dtype }, &[v])
}
