//! Inference for the core integer ops.

use crate::dtype::DType;
use crate::error::IrError;
use crate::ops::{Op, PoolKind, RequantScale};
use crate::tensor::TensorType;

use super::qnn::{concat_shape, dense_output};
use super::shapes::{
    broadcast_shapes, check_windows_see_data, conv2d_output_type, pool2d_output_shape,
};
use super::{arity, attr_err, check_axes, dtype_in};

const OPERANDS: &[DType] = &[DType::U8, DType::I8, DType::I16];
const INTS: &[DType] = &[DType::U8, DType::I8, DType::I16, DType::I32];
const ARITH: &[DType] = &[DType::I16, DType::I32, DType::F32];
const ALL: &[DType] = &DType::ALL;

/// `[.., M, K] × [.., K, N] → [.., M, N]` with numpy broadcasting of the batch dimensions.
pub fn matmul_shape(op: &str, a: &[usize], b: &[usize]) -> Result<Vec<usize>, IrError> {
    if a.len() < 2 || b.len() < 2 {
        return Err(IrError::Shape {
            op: op.into(),
            msg: format!("operands {a:?} and {b:?} need rank ≥ 2 ([.., M, K] and [.., K, N])"),
        });
    }
    let (ab, am) = a.split_at(a.len() - 2);
    let (bb, bm) = b.split_at(b.len() - 2);
    if am[1] != bm[0] {
        return Err(IrError::Shape {
            op: op.into(),
            msg: format!("{a:?} × {b:?}: K = {} on the left but {} on the right", am[1], bm[0]),
        });
    }
    let mut out = broadcast_shapes(op, ab, bb)?;
    out.extend([am[0], bm[1]]);
    Ok(out)
}

/// A scalar attribute of an op on `dtype`: integral and inside the type for integers.
fn scalar_fits(op: &str, attr: &str, v: f64, dtype: DType) -> Result<(), IrError> {
    match dtype.int_range() {
        Some((lo, hi)) => {
            if v.fract() != 0.0 || v < lo as f64 || v > hi as f64 {
                return Err(attr_err(op, attr, v, &format!("must be an integer inside {dtype}")));
            }
        }
        None => {
            if v.is_nan() {
                return Err(attr_err(op, attr, v, "must not be NaN"));
            }
        }
    }
    Ok(())
}

pub(super) fn infer(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let name = op.name();
    match op {
        Op::Conv2d { conv, pad_value } => {
            arity(name, inputs, 2)?;
            dtype_in(name, 0, inputs[0], OPERANDS)?;
            dtype_in(name, 1, inputs[1], OPERANDS)?;
            if !inputs[0].dtype.contains(*pad_value as i64) {
                return Err(attr_err(
                    name,
                    "pad_value",
                    pad_value,
                    &format!("must be a value of the data type {}", inputs[0].dtype),
                ));
            }
            conv2d_output_type(name, conv, inputs[0], inputs[1])
        }
        Op::Dense => {
            arity(name, inputs, 2)?;
            dtype_in(name, 0, inputs[0], OPERANDS)?;
            dtype_in(name, 1, inputs[1], OPERANDS)?;
            dense_output(name, inputs[0], inputs[1])
        }
        Op::MatMul => {
            arity(name, inputs, 2)?;
            // Both f32, or both integer operands.
            let float = inputs[0].dtype == DType::F32;
            let allowed = if float { &[DType::F32][..] } else { OPERANDS };
            dtype_in(name, 0, inputs[0], &[DType::U8, DType::I8, DType::I16, DType::F32])?;
            dtype_in(name, 1, inputs[1], allowed)?;
            let out = matmul_shape(name, &inputs[0].shape, &inputs[1].shape)?;
            Ok(TensorType::new(if float { DType::F32 } else { DType::I32 }, out))
        }
        Op::Softmax { axis } => {
            arity(name, inputs, 1)?;
            dtype_in(name, 0, inputs[0], &[DType::F32])?;
            check_axes(name, "axis", &[*axis], inputs[0].rank())?;
            Ok(inputs[0].clone())
        }
        Op::Lookup => {
            arity(name, inputs, 2)?;
            dtype_in(name, 0, inputs[0], &[DType::U8, DType::I8])?;
            if inputs[1].shape != [256] {
                return Err(IrError::Shape {
                    op: name.into(),
                    msg: format!(
                        "the table has shape {:?}; it needs one entry per 8-bit value ([256])",
                        inputs[1].shape
                    ),
                });
            }
            Ok(TensorType::new(inputs[1].dtype, inputs[0].shape.clone()))
        }
        Op::Cast { to } => {
            arity(name, inputs, 1)?;
            Ok(TensorType::new(*to, inputs[0].shape.clone()))
        }
        Op::Add | Op::Subtract | Op::Multiply => {
            arity(name, inputs, 2)?;
            dtype_in(name, 0, inputs[0], ARITH)?;
            dtype_in(name, 1, inputs[1], &[inputs[0].dtype])?;
            let shape = broadcast_shapes(name, &inputs[0].shape, &inputs[1].shape)?;
            Ok(TensorType::new(inputs[0].dtype, shape))
        }
        Op::Divide => {
            arity(name, inputs, 2)?;
            dtype_in(name, 0, inputs[0], &[DType::F32])?;
            dtype_in(name, 1, inputs[1], &[DType::F32])?;
            let shape = broadcast_shapes(name, &inputs[0].shape, &inputs[1].shape)?;
            Ok(TensorType::new(DType::F32, shape))
        }
        Op::Fma => {
            arity(name, inputs, 3)?;
            for (i, t) in inputs.iter().enumerate() {
                dtype_in(name, i, t, &[DType::F32])?;
            }
            let ab = broadcast_shapes(name, &inputs[0].shape, &inputs[1].shape)?;
            let shape = broadcast_shapes(name, &ab, &inputs[2].shape)?;
            Ok(TensorType::new(DType::F32, shape))
        }
        Op::Round => {
            arity(name, inputs, 1)?;
            dtype_in(name, 0, inputs[0], &[DType::F32])?;
            Ok(inputs[0].clone())
        }
        Op::Sum { axes, keepdims } => {
            arity(name, inputs, 1)?;
            let t = inputs[0];
            check_axes(name, "axes", axes, t.rank())?;
            let dtype = if t.dtype == DType::F32 { DType::F32 } else { DType::I32 };
            let shape = t
                .shape
                .iter()
                .enumerate()
                .filter_map(|(i, &d)| match (axes.contains(&i), keepdims) {
                    (false, _) => Some(d),
                    (true, true) => Some(1),
                    (true, false) => None,
                })
                .collect::<Vec<_>>();
            Ok(TensorType::new(dtype, shape))
        }
        Op::Pool2d { kind, pool, pad_value } => {
            arity(name, inputs, 1)?;
            match kind {
                PoolKind::Sum => dtype_in(name, 0, inputs[0], ALL)?,
                PoolKind::Max => dtype_in(name, 0, inputs[0], ALL)?,
            }
            let shape = pool2d_output_shape(name, pool, inputs[0])?;
            match kind {
                PoolKind::Sum if inputs[0].dtype == DType::F32 => {
                    if f64::from(*pad_value as f32) != f64::from(*pad_value) {
                        return Err(attr_err(name, "pad_value", pad_value, "must be exact in f32"));
                    }
                    Ok(TensorType::new(DType::F32, shape))
                }
                PoolKind::Sum => {
                    if !inputs[0].dtype.contains(*pad_value as i64) {
                        return Err(attr_err(
                            name,
                            "pad_value",
                            pad_value,
                            &format!("must be a value of the data type {}", inputs[0].dtype),
                        ));
                    }
                    Ok(TensorType::new(DType::I32, shape))
                }
                PoolKind::Max => {
                    check_windows_see_data(name, pool, inputs[0], &shape)?;
                    Ok(TensorType::new(inputs[0].dtype, shape))
                }
            }
        }
        Op::Resize { resize } => {
            arity(name, inputs, 1)?;
            dtype_in(name, 0, inputs[0], &[DType::U8, DType::I8, DType::F32])?;
            crate::reference::resize::check(name, &inputs[0].shape, resize)?;
            Ok(TensorType::new(inputs[0].dtype, resize.sizes.clone()))
        }
        Op::Dilate { dilate } => super::transpose::dilate(name, dilate, inputs),
        Op::Pad { pads, value } => {
            arity(name, inputs, 1)?;
            let t = inputs[0];
            if pads.len() != t.rank() {
                return Err(attr_err(
                    name,
                    "pads",
                    pads,
                    &format!("needs one [before, after] pair per axis ({})", t.rank()),
                ));
            }
            scalar_fits(name, "value", *value, t.dtype)?;
            let mut shape = Vec::with_capacity(t.rank());
            for (d, [b, a]) in t.shape.iter().zip(pads) {
                let padded = d.checked_add(*b).and_then(|x| x.checked_add(*a));
                shape.push(
                    padded.ok_or_else(|| attr_err(name, "pads", pads, "padded size overflows"))?,
                );
            }
            Ok(TensorType::new(t.dtype, shape))
        }
        Op::Clip { min, max } => {
            arity(name, inputs, 1)?;
            if min.is_nan() || max.is_nan() || min > max {
                return Err(attr_err(
                    name,
                    "min/max",
                    (min, max),
                    "bounds must be numbers with min ≤ max",
                ));
            }
            if inputs[0].dtype.is_integer() && (min.fract() != 0.0 || max.fract() != 0.0) {
                return Err(attr_err(
                    name,
                    "min/max",
                    (min, max),
                    "bounds of an integer clip must be integers",
                ));
            }
            Ok(inputs[0].clone())
        }
        Op::Requantize { scale, axes, input_zero_point, output_zero_point, out_dtype } => {
            arity(name, inputs, 1)?;
            let t = inputs[0];
            dtype_in(name, 0, t, INTS)?;
            if !out_dtype.is_integer() {
                return Err(attr_err(name, "out_dtype", out_dtype, "must be an integer type"));
            }
            check_axes(name, "axes", axes, t.rank())?;
            if axes.windows(2).any(|w| w[0] > w[1]) {
                return Err(attr_err(name, "axes", axes, "must be increasing"));
            }
            let n: usize = axes.iter().map(|&a| t.shape[a]).product();
            if scale.len() != n && scale.len() != 1 {
                return Err(attr_err(
                    name,
                    "scale",
                    scale.len(),
                    &format!("needs 1 multiplier or {n} (one per element of axes {axes:?})"),
                ));
            }
            match scale {
                RequantScale::Fixed { mults, .. } => {
                    for m in mults {
                        let ok_q =
                            m.multiplier == 0 || (1 << 30..=i32::MAX).contains(&m.multiplier);
                        if !ok_q || !(-62..=62).contains(&m.shift) {
                            return Err(attr_err(
                                name,
                                "scale",
                                m,
                                "fixed-point multipliers need a Q31 value in [2^30, 2^31) (or 0) and a shift in [-62, 62]",
                            ));
                        }
                    }
                }
                RequantScale::Float { mults } => {
                    if let Some(m) = mults.iter().find(|m| !(m.is_finite() && **m >= 0.0)) {
                        return Err(attr_err(
                            name,
                            "scale",
                            m,
                            "float multipliers must be finite and ≥ 0",
                        ));
                    }
                }
            }
            if !t.dtype.contains(*input_zero_point as i64) {
                return Err(attr_err(
                    name,
                    "input_zero_point",
                    input_zero_point,
                    &format!("outside the input type {}", t.dtype),
                ));
            }
            if !out_dtype.contains(*output_zero_point as i64) {
                return Err(attr_err(
                    name,
                    "output_zero_point",
                    output_zero_point,
                    &format!("outside the output type {out_dtype}"),
                ));
            }
            Ok(TensorType::new(*out_dtype, t.shape.clone()))
        }
        Op::Reshape { shape } => {
            arity(name, inputs, 1)?;
            let from = inputs[0].checked_len();
            let to = TensorType::new(inputs[0].dtype, shape.clone());
            if from.is_none() || from != to.checked_len() {
                return Err(attr_err(
                    name,
                    "shape",
                    shape,
                    &format!("element count differs from the input {:?}", inputs[0].shape),
                ));
            }
            Ok(to)
        }
        Op::Transpose { perm } => {
            arity(name, inputs, 1)?;
            let t = inputs[0];
            if perm.len() != t.rank() {
                return Err(attr_err(name, "perm", perm, &format!("needs {} axes", t.rank())));
            }
            check_axes(name, "perm", perm, t.rank())?;
            Ok(TensorType::new(t.dtype, perm.iter().map(|&p| t.shape[p]).collect::<Vec<_>>()))
        }
        Op::Slice { starts, steps, sizes } => {
            arity(name, inputs, 1)?;
            crate::reference::check_slice(name, &inputs[0].shape, starts, steps, sizes)?;
            Ok(TensorType::new(inputs[0].dtype, sizes.clone()))
        }
        Op::Concatenate { axis } => {
            if inputs.is_empty() {
                return Err(IrError::Arity {
                    op: name.into(),
                    expected: "at least 1".into(),
                    got: 0,
                });
            }
            for (i, t) in inputs.iter().enumerate() {
                dtype_in(name, i, t, &[inputs[0].dtype])?;
            }
            Ok(TensorType::new(inputs[0].dtype, concat_shape(name, inputs, *axis)?))
        }
        _ => unreachable!("core::infer is only called for core ops"),
    }
}
