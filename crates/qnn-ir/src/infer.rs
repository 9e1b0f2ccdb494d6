//! Type and shape inference for every op.

use crate::error::IrError;
use crate::ops::Op;
use crate::tensor::TensorType;

/// The output type of `op` applied to inputs of types `inputs`, or an error naming the op and
/// the offending shape, dtype or attribute.
pub fn infer_type(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    // Placeholder until the full inference lands (foundation issue).
    let _ = inputs;
    Err(IrError::Graph { msg: format!("no inference for {} yet", op.name()) })
}
