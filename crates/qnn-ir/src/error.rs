//! The one error type of `qnn-ir`. Every variant names the op (and node, where known) and
//! the offending value.

use crate::dtype::DType;

/// Errors of the IR: invalid parameters, type/shape errors, malformed graphs, text-form
/// parse errors and reference-evaluation errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IrError {
    #[error("{op}: scale {value} of {what} must be finite and > 0")]
    BadScale { op: String, what: String, value: f32 },

    #[error("{op}: zero point {value} of {what} is outside the range of {dtype}")]
    ZeroPointOutOfRange { op: String, what: String, value: i64, dtype: DType },

    #[error("{op}: quantization axis {axis} of {what} is outside its rank {rank}")]
    QuantAxis { op: String, what: String, axis: usize, rank: usize },

    #[error(
        "{op}: {what} has {scales} scale(s) and {zero_points} zero point(s); expected 1 or {expected} of each"
    )]
    QuantLength { op: String, what: String, scales: usize, zero_points: usize, expected: usize },

    #[error("{op}: expected {expected} input(s), got {got}")]
    Arity { op: String, expected: String, got: usize },

    #[error("{op}: input {index} has dtype {got}, expected {expected}")]
    DType { op: String, index: usize, got: DType, expected: String },

    #[error("{op}: {msg}")]
    Shape { op: String, msg: String },

    #[error("{op}: attribute `{attr}` = {value} is invalid: {msg}")]
    Attribute { op: String, attr: String, value: String, msg: String },

    #[error("{op}: value {value} does not fit {dtype}")]
    ValueOutOfRange { op: String, value: i64, dtype: DType },

    #[error("{op}: int32 accumulator overflow (value {value})")]
    AccumulatorOverflow { op: String, value: i64 },

    #[error("value `{name}` is defined more than once")]
    Redefined { name: String },

    #[error("node `{node}` reads value {value}, which is not defined before it")]
    Undefined { node: String, value: String },

    #[error("value `{name}` is declared as {declared} but {op} produces {inferred}")]
    TypeMismatch { name: String, op: String, declared: String, inferred: String },

    #[error("graph: {msg}")]
    Graph { msg: String },

    #[error("line {line}, column {column}: {msg}")]
    Parse { line: usize, column: usize, msg: String },

    #[error("input `{name}`: {msg}")]
    Input { name: String, msg: String },

    /// A tensor, or the values of a graph together, would take more memory than the
    /// [`Limits`](crate::limits::Limits) allow; `bytes` is `None` when the size does not even
    /// fit 64 bits.
    #[error(
        "{what}: {} bytes exceed the limit of {limit} bytes",
        bytes.map_or_else(|| "more than 2^64".to_string(), |b| b.to_string())
    )]
    LimitExceeded { what: String, bytes: Option<u64>, limit: u64 },
}

impl IrError {
    /// Adds the node's name to the op named by the error, so that a message says which
    /// node of the graph it is about (`qnn.conv2d `conv1`: …`).
    pub fn in_node(mut self, node: &str) -> IrError {
        use IrError::*;
        match &mut self {
            BadScale { op, .. }
            | ZeroPointOutOfRange { op, .. }
            | QuantAxis { op, .. }
            | QuantLength { op, .. }
            | Arity { op, .. }
            | DType { op, .. }
            | Shape { op, .. }
            | Attribute { op, .. }
            | ValueOutOfRange { op, .. }
            | AccumulatorOverflow { op, .. }
                if !op.contains('`') =>
            {
                *op = format!("{op} `{node}`");
            }
            _ => {}
        }
        self
    }
}
