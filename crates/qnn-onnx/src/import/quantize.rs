//! `QuantizeLinear` and `DequantizeLinear`: per tensor, per axis, and blocked (opset 21).
//!
//! A `DequantizeLinear` is imported lazily: its output is recorded as (integer source,
//! parameters) and becomes a `qnn.dequantize` only when a float op reads it, so QDQ groups
//! folded into QNN ops read the integers directly.

use std::rc::Rc;

use qnn_ir::{DType, Op, Tensor};

use super::context::{Dq, Importer};
use super::node::{Form, Node};
use crate::constant::Constant;
use crate::error::OnnxError;
use crate::onnx_type::OnnxType;

/// Normalizes an ONNX axis attribute (negative counts from the end).
pub(crate) fn axis(n: &Node<'_>, attr: &str, v: i64, rank: usize) -> Result<usize, OnnxError> {
    let a = if v < 0 { v + rank as i64 } else { v };
    usize::try_from(a)
        .ok()
        .filter(|&a| a < rank)
        .ok_or_else(|| n.attrs.error(attr, format!("{v} is outside the rank {rank}")))
}

/// The `axis`, `block_size` (and `saturate`, `output_dtype`) attributes of Q/DQ.
struct QdqAttrs {
    /// `None` when the attribute is outside the rank: harmless for per-tensor parameters,
    /// which ignore it, an error for per-axis ones.
    axis: Option<usize>,
    block_size: usize,
}

/// Per-axis parameters (`scales` > 1) need an `axis` within the data's rank: the axis error,
/// not "this op needs per-tensor parameters".
fn per_axis_needs_axis(
    n: &Node<'_>,
    a: &QdqAttrs,
    scales: usize,
    rank: usize,
) -> Result<(), OnnxError> {
    if a.axis.is_some() || scales <= 1 {
        return Ok(());
    }
    let v = n.attrs.int_or("axis", 1)?;
    Err(n.attrs.error(
        "axis",
        format!("{v} is outside the rank {rank} of the data, and the {scales} scales are per axis"),
    ))
}

fn qdq_attrs(n: &Node<'_>, rank: usize) -> Result<QdqAttrs, OnnxError> {
    let axis = axis(n, "axis", n.attrs.int_or("axis", 1)?, rank).ok();
    let block = n.attrs.int_or("block_size", 0)?;
    let block_size = usize::try_from(block)
        .map_err(|_| n.attrs.error("block_size", format!("{block} must be ≥ 0")))?;
    Ok(QdqAttrs { axis, block_size })
}

/// `QuantizeLinear(x, y_scale, y_zero_point?)`.
pub(super) fn quantize_linear(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(2, 3, 1)?;
    let xt = im.input_type(n, 0)?;
    if xt.dtype != DType::F32 {
        return Err(n.input_error(0, format!("quantizes f32, got {}", xt.dtype)));
    }
    let a = qdq_attrs(n, xt.rank())?;
    // `saturate` only changes float8 outputs, which are not supported anyway.
    let _ = n.attrs.int("saturate")?;
    let declared = match n.attrs.int("output_dtype")? {
        None | Some(0) => None,
        Some(t) => {
            Some(OnnxType(t as i32).dtype().filter(|d| d.is_integer()).ok_or_else(|| {
                n.attrs.error("output_dtype", format!("{} is not supported", OnnxType(t as i32)))
            })?)
        }
    };
    let dtype = im.zp_dtype(n, 2, Some(declared.unwrap_or(DType::U8)))?;
    if declared.is_some_and(|d| d != dtype) {
        return Err(n.attrs.error("output_dtype", "differs from the zero point's type"));
    }
    // UINT16 results are carried as i32 and clamped to 0..=65535 after quantizing.
    let u16_out = match im.opt_constant(n, 2)? {
        Some(z) => z.ty == OnnxType::UINT16,
        None => n.attrs.int("output_dtype")? == Some(i64::from(OnnxType::UINT16.0)),
    };
    let x = im.value(n, 0)?;
    let out = n.output(0)?;
    let q_name = if u16_out { format!("{out}/i32") } else { out.to_string() };
    let y = if a.block_size > 0 {
        let (s, z) = blocked(im, n, &xt.shape, &a, dtype)?;
        let s = im.emit_const(n, &format!("{out}/scale"), s)?;
        let q = im.emit(n, &format!("{out}/div"), Op::Divide, &[x, s])?;
        let r = im.emit(n, &format!("{out}/round"), Op::Round, &[q])?;
        let zf = Tensor::F32(z.to_i64().map(|a| a.mapv(|v| v as f32)).unwrap_or_default());
        let zc = im.emit_const(n, &format!("{out}/zp"), zf)?;
        let r = im.emit(n, &format!("{out}/addzp"), Op::Add, &[r, zc])?;
        im.emit(n, &q_name, Op::Cast { to: dtype }, &[r])?
    } else {
        per_axis_needs_axis(n, &a, im.constant(n, 1)?.len(), xt.rank())?;
        let q = im.qparams(n, 1, Some(2), dtype, a.axis)?;
        im.emit(n, &q_name, Op::QnnQuantize { output: q, out_dtype: dtype }, &[x])?
    };
    let y = if u16_out { im.emit(n, out, Op::Clip { min: 0.0, max: 65535.0 }, &[y])? } else { y };
    im.bind(out, y);
    Ok(Form::Conversion)
}

/// `DequantizeLinear(x, x_scale, x_zero_point?)`.
pub(super) fn dequantize_linear(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(2, 3, 1)?;
    let xt = im.input_type(n, 0)?;
    if !xt.dtype.is_integer() {
        return Err(n.input_error(0, format!("dequantizes integers, got {}", xt.dtype)));
    }
    let a = qdq_attrs(n, xt.rank())?;
    let s = im.constant(n, 1)?;
    if s.ty != OnnxType::FLOAT {
        return Err(n.input_error(
            1,
            format!("{} scales (and outputs) are not supported, only FLOAT", s.ty),
        ));
    }
    let out = n.output(0)?;
    if a.block_size > 0 {
        let (s, z) = blocked(im, n, &xt.shape, &a, xt.dtype)?;
        let z = Tensor::from_i64("zero point", DType::I32, z.to_i64().unwrap_or_default())
            .map_err(|e| n.ir(e))?;
        let x = im.value(n, 0)?;
        let mut v = im.emit(n, &format!("{out}/i32"), Op::Cast { to: DType::I32 }, &[x])?;
        if z.to_i64().is_some_and(|a| a.iter().any(|&v| v != 0)) {
            let zc = im.emit_const(n, &format!("{out}/zp"), z)?;
            v = im.emit(n, &format!("{out}/shifted"), Op::Subtract, &[v, zc])?;
        }
        let f = im.emit(n, &format!("{out}/f32"), Op::Cast { to: DType::F32 }, &[v])?;
        let sc = im.emit_const(n, &format!("{out}/scale"), s)?;
        let y = im.emit(n, out, Op::Multiply, &[f, sc])?;
        im.bind(out, y);
        return Ok(Form::Conversion);
    }
    per_axis_needs_axis(n, &a, s.len(), xt.rank())?;
    let q = im.qparams(n, 1, Some(2), xt.dtype, a.axis)?;
    let source = n.input(0).unwrap_or_default().to_string();
    im.dq.insert(out.to_string(), Rc::new(Dq { source, q, dtype: xt.dtype, node: n.index }));
    Ok(Form::Conversion)
}

/// Blocked parameters expanded to the data's shape: `scale[.., i, ..]` applies to the
/// `block_size` elements `i·B .. (i+1)·B` along `axis`. Returns (f32 scales, zero points in
/// `dtype`).
fn blocked(
    im: &Importer<'_>,
    n: &Node<'_>,
    shape: &[usize],
    a: &QdqAttrs,
    dtype: DType,
) -> Result<(Tensor, Tensor), OnnxError> {
    let s = im.constant(n, 1)?;
    let z = im.opt_constant(n, 2)?;
    let ax = a
        .axis
        .ok_or_else(|| n.attrs.error("axis", format!("is outside the rank {}", shape.len())))?;
    let expand = |c: &Constant, i: usize| -> Result<Vec<usize>, OnnxError> {
        let ok =
            c.shape.len() == shape.len()
                && c.shape.iter().zip(shape).enumerate().all(|(d, (&p, &x))| {
                    if d == ax { p == x.div_ceil(a.block_size) } else { p == x }
                });
        if !ok {
            return Err(n.input_error(
                i,
                format!(
                    "shape {:?} does not block data {shape:?} by {} along axis {ax}",
                    c.shape, a.block_size
                ),
            ));
        }
        // Source index of every element of the data (the expanded parameters are constants
        // of the data's size: refuse absurd sizes rather than allocate them).
        let total =
            shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).filter(|&t| t <= 1 << 26);
        let total = total.ok_or_else(|| {
            n.unsupported(format!("blocked parameters for data {shape:?} are too large"))
        })?;
        let mut idx = vec![0usize; shape.len()];
        let mut out = Vec::with_capacity(total);
        for _ in 0..total {
            let mut flat = 0;
            for (d, &v) in idx.iter().enumerate() {
                let v = if d == ax { v / a.block_size } else { v };
                flat = flat * c.shape[d] + v;
            }
            out.push(flat);
            for d in (0..shape.len()).rev() {
                idx[d] += 1;
                if idx[d] < shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        Ok(out)
    };
    let scales = s.floats().ok_or_else(|| n.input_error(1, "scales must be FLOAT"))?;
    let st =
        Tensor::from_vec(shape, expand(&s, 1)?.iter().map(|&i| scales[i]).collect::<Vec<f32>>())
            .map_err(|e| n.ir(e))?;
    let zt = match z {
        None => Tensor::zeros(&qnn_ir::TensorType::new(dtype, shape.to_vec())),
        Some(z) => {
            if z.ty.dtype() != Some(dtype) {
                return Err(
                    n.input_error(2, format!("zero point of type {} for {dtype} data", z.ty))
                );
            }
            let zs = z.ints().unwrap_or_default();
            let v: Vec<i64> = expand(&z, 2)?.iter().map(|&i| zs[i]).collect();
            let arr = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v)
                .map_err(|e| n.unsupported(e.to_string()))?;
            Tensor::from_i64("zero point", dtype, arr).map_err(|e| n.ir(e))?
        }
    };
    Ok((st, zt))
}
