//! Small helpers shared by the reference kernels: widening tensors to `i64`, looking up
//! quantization parameters, clamping and checked narrowing.

use ndarray::ArrayD;

use crate::dtype::DType;
use crate::error::IrError;
use crate::quant::QuantParams;
use crate::tensor::Tensor;

/// The integer elements of input `index`, widened to `i64`.
pub(super) fn ints(op: &str, t: &Tensor, index: usize) -> Result<ArrayD<i64>, IrError> {
    t.to_i64().ok_or_else(|| IrError::DType {
        op: op.into(),
        index,
        got: t.dtype(),
        expected: "an integer type".into(),
    })
}

/// The `f32` elements of input `index`.
pub(super) fn floats<'a>(
    op: &str,
    t: &'a Tensor,
    index: usize,
) -> Result<&'a ArrayD<f32>, IrError> {
    t.as_array::<f32>().ok_or_else(|| IrError::DType {
        op: op.into(),
        index,
        got: t.dtype(),
        expected: "f32".into(),
    })
}

/// Inclusive range of an integer output type.
pub(super) fn int_range(op: &str, dtype: DType) -> Result<(i64, i64), IrError> {
    dtype.int_range().ok_or_else(|| IrError::DType {
        op: op.into(),
        index: 0,
        got: dtype,
        expected: "an integer output type".into(),
    })
}

/// Scale and zero point that apply to the element at `index` of the tensor `q` describes:
/// per tensor, or the entry of `index[axis]` when per axis.
pub(super) fn param_at(
    op: &str,
    what: &str,
    q: &QuantParams,
    index: &[usize],
) -> Result<(f32, i32), IrError> {
    let k = match q.axis {
        None => 0,
        Some(axis) => *index.get(axis).ok_or_else(|| IrError::QuantAxis {
            op: op.into(),
            what: what.into(),
            axis,
            rank: index.len(),
        })?,
    };
    let scale = if q.scale.len() == 1 { q.scale.first() } else { q.scale.get(k) };
    let zero_point =
        if q.zero_point.len() == 1 { q.zero_point.first() } else { q.zero_point.get(k) };
    match (scale, zero_point) {
        (Some(&s), Some(&z)) => Ok((s, z)),
        _ => Err(IrError::QuantLength {
            op: op.into(),
            what: what.into(),
            scales: q.scale.len(),
            zero_points: q.zero_point.len(),
            expected: k + 1,
        }),
    }
}

/// `v` clamped to `[lo, hi]`.
pub(super) fn clamp(v: i64, (lo, hi): (i64, i64)) -> i64 {
    v.max(lo).min(hi)
}

/// An `f32` holding an integer value (after rounding) clamped to `[lo, hi]` in `f32`, as
/// numpy's `clip` then `astype` does, then converted. The final `i64` clamp only matters for
/// the bounds of `i32`, which `f32` cannot hold exactly (`i32::MAX as f32 == 2^31`).
/// NaN goes to `lo` (what ONNX Runtime's MLAS does: x86 `maxps` returns its second operand).
pub(super) fn clamp_f32(v: f32, (lo, hi): (i64, i64)) -> i64 {
    let c = v.max(lo as f32).min(hi as f32);
    clamp(c as i64, (lo, hi))
}

/// Every value fits `i32`, else the first one that does not is reported as an accumulator
/// overflow of `op`.
pub(super) fn check_i32(op: &str, a: &ArrayD<i64>) -> Result<(), IrError> {
    match a.iter().find(|&&v| !DType::I32.contains(v)) {
        Some(&value) => Err(IrError::AccumulatorOverflow { op: op.into(), value }),
        None => Ok(()),
    }
}

pub(super) fn shape_error(op: &str, msg: impl Into<String>) -> IrError {
    IrError::Shape { op: op.into(), msg: msg.into() }
}

pub(super) fn attr_error(op: &str, attr: &str, value: impl ToString, msg: &str) -> IrError {
    IrError::Attribute {
        op: op.into(),
        attr: attr.into(),
        value: value.to_string(),
        msg: msg.into(),
    }
}
