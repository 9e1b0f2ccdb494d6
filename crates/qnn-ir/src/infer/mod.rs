//! Type and shape inference for every op.
//!
//! Inference is also where an op's inputs and attributes are validated: the reference
//! interpreter, the legalizer and the runtime may assume that an op that passed inference
//! is well formed. Every error names the op and the offending shape, dtype or attribute.

mod core;
mod qnn;
mod shapes;
mod transpose;

use crate::error::IrError;
use crate::ops::Op;
use crate::tensor::TensorType;

pub use core::matmul_shape;
pub use shapes::{broadcast_shapes, conv2d_output_type, pool2d_output_shape};

/// The output type of `op` applied to inputs of types `inputs`.
pub fn infer_type(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    if op.is_qnn() { qnn::infer(op, inputs) } else { core::infer(op, inputs) }
}

/// Errors unless there are exactly `n` inputs.
pub(crate) fn arity(op: &str, inputs: &[&TensorType], n: usize) -> Result<(), IrError> {
    if inputs.len() != n {
        return Err(IrError::Arity { op: op.into(), expected: n.to_string(), got: inputs.len() });
    }
    Ok(())
}

/// Errors unless input `index` has one of the `allowed` dtypes.
pub(crate) fn dtype_in(
    op: &str,
    index: usize,
    ty: &TensorType,
    allowed: &[crate::DType],
) -> Result<(), IrError> {
    if allowed.contains(&ty.dtype) {
        return Ok(());
    }
    let expected = allowed.iter().map(|d| d.name()).collect::<Vec<_>>().join(" or ");
    Err(IrError::DType { op: op.into(), index, got: ty.dtype, expected })
}

/// Errors unless input `index` has rank `rank`.
pub(crate) fn rank_is(op: &str, index: usize, ty: &TensorType, rank: usize) -> Result<(), IrError> {
    if ty.rank() != rank {
        return Err(IrError::Shape {
            op: op.into(),
            msg: format!("input {index} has shape {:?}; expected rank {rank}", ty.shape),
        });
    }
    Ok(())
}

pub(crate) fn attr_err(op: &str, attr: &str, value: impl std::fmt::Debug, msg: &str) -> IrError {
    IrError::Attribute {
        op: op.into(),
        attr: attr.into(),
        value: format!("{value:?}"),
        msg: msg.into(),
    }
}

/// Checks a list of axes: each inside `rank`, no repeats.
pub(crate) fn check_axes(op: &str, attr: &str, axes: &[usize], rank: usize) -> Result<(), IrError> {
    for (i, &a) in axes.iter().enumerate() {
        if a >= rank {
            return Err(attr_err(op, attr, axes, &format!("axis {a} is outside rank {rank}")));
        }
        if axes[..i].contains(&a) {
            return Err(attr_err(op, attr, axes, &format!("axis {a} repeats")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
