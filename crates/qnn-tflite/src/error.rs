//! The one error type of `qnn-tflite`. Every variant about an operator names it: its index in
//! the subgraph and its builtin code (`#3 CONV_2D`).

use std::path::PathBuf;

use qnn_ir::IrError;

/// Errors of the importer.
#[derive(Debug, thiserror::Error)]
pub enum TfliteError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    /// The bytes are not a valid TensorFlow Lite flatbuffer (schema 3).
    #[error("malformed .tflite model: {msg}")]
    Decode { msg: String },

    /// The model breaks a rule of the format (no subgraph, an index out of range, a buffer of
    /// the wrong size, …).
    #[error("model: {msg}")]
    Model { msg: String },

    /// An operator (or an operator with these options or types) the importer does not support.
    #[error("operator {op}: unsupported: {msg}")]
    Unsupported { op: String, msg: String },

    /// An operator whose inputs, options or quantization parameters are invalid.
    #[error("operator {op}: {msg}")]
    Operator { op: String, msg: String },

    /// A tensor beyond the import's memory limits, refused before its data is read.
    #[error("{0}")]
    Limit(Box<IrError>),

    /// The qnn-ir graph rejected what the operator imports to.
    #[error("operator {op}: {source}")]
    Ir { op: String, source: Box<IrError> },
}

impl TfliteError {
    pub(crate) fn model(msg: impl Into<String>) -> Self {
        TfliteError::Model { msg: msg.into() }
    }
}
