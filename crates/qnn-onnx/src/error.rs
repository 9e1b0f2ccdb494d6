//! The one error type of `qnn-onnx`. Every variant about a node names it (its name, or its
//! index and first output when it has none) and its op type.

use std::path::PathBuf;

use qnn_ir::IrError;

/// Errors of the importer.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    /// The bytes are not a valid protobuf `ModelProto` / `TensorProto`.
    #[error("malformed {what}: {msg}")]
    Decode { what: String, msg: String },

    /// The model breaks a rule of the ONNX format (missing graph, opset out of range, a value
    /// defined twice, an input nothing defines, a cycle, …).
    #[error("model: {msg}")]
    Model { msg: String },

    /// An op (or an op in this form) the importer does not support.
    #[error("node {node} ({op_type}): unsupported: {msg}")]
    Unsupported { node: String, op_type: String, msg: String },

    /// An attribute that is unknown, missing, of the wrong type or has an unsupported value.
    #[error("node {node} ({op_type}): attribute `{attr}`: {msg}")]
    Attribute { node: String, op_type: String, attr: String, msg: String },

    /// An input that is missing, of the wrong type or shape, or not a constant where the
    /// importer needs one (scales, zero points, shapes).
    #[error("node {node} ({op_type}): input {index} `{name}`: {msg}")]
    Input { node: String, op_type: String, index: usize, name: String, msg: String },

    /// A tensor whose data does not match its declared type and shape.
    #[error("tensor `{name}`: {msg}")]
    Tensor { name: String, msg: String },

    /// A graph input or output the importer cannot type (dynamic dimension, unsupported
    /// element type, …).
    #[error("graph {kind} `{name}`: {msg}")]
    GraphIo { kind: &'static str, name: String, msg: String },

    /// A tensor or shape beyond the import's memory limits
    /// ([`ImportOptions::limits`](crate::ImportOptions::limits)), refused before anything of
    /// its size is decoded or allocated (always [`IrError::LimitExceeded`]).
    #[error("{0}")]
    Limit(Box<IrError>),

    /// Quantization scales that are valid one by one but whose products or quotients, as
    /// ONNX Runtime computes them in f32, underflow to 0 or overflow to infinity.
    #[error("node {node} ({op_type}): {msg}")]
    Scale { node: String, op_type: String, msg: String },

    /// The qnn-ir graph rejected what the node imports to (shapes, parameters).
    #[error("node {node} ({op_type}): {source}")]
    Ir { node: String, op_type: String, source: Box<IrError> },
}

impl OnnxError {
    pub(crate) fn model(msg: impl Into<String>) -> Self {
        OnnxError::Model { msg: msg.into() }
    }

    pub(crate) fn tensor(name: &str, msg: impl Into<String>) -> Self {
        OnnxError::Tensor { name: name.into(), msg: msg.into() }
    }
}
