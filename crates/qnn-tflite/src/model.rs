//! A `.tflite` file: its bytes, verified once as a TFLite flatbuffer (schema 3) by the
//! generated code's verifier, and read through the generated accessors.

use std::path::Path;

use flatbuffers::VerifierOptions;

use crate::error::TfliteError;
use crate::generated as fb;

/// True when `bytes` carry TFLite's file identifier `TFL3` (bytes 4..8): how `qnn` tells a
/// `.tflite` model from an ONNX one by content.
pub fn is_tflite(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && fb::model_buffer_has_identifier(bytes)
}

/// A TensorFlow Lite model.
#[derive(Debug, Clone)]
pub struct Model {
    bytes: Vec<u8>,
}

impl Model {
    pub fn from_path(path: impl AsRef<Path>) -> Result<Model, TfliteError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|source| TfliteError::Io { path: path.to_path_buf(), source })?;
        Model::from_bytes(bytes)
    }

    /// Checks the identifier and verifies the whole flatbuffer (offsets, sizes, nesting) so
    /// that every later access is in bounds.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Model, TfliteError> {
        if !is_tflite(&bytes) {
            return Err(TfliteError::Decode {
                msg: "no TFL3 file identifier at bytes 4..8 (not a TensorFlow Lite model)".into(),
            });
        }
        let model = Model { bytes };
        let root = model.root()?;
        if root.version() != 3 {
            return Err(TfliteError::model(format!(
                "schema version {} (only version 3 is supported)",
                root.version()
            )));
        }
        Ok(model)
    }

    /// The bytes of the file.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The verified root table.
    pub(crate) fn root(&self) -> Result<fb::Model<'_>, TfliteError> {
        let opts = VerifierOptions {
            max_depth: 64,
            max_tables: 10_000_000,
            max_apparent_size: self.bytes.len().max(1 << 20),
            ignore_missing_null_terminator: false,
        };
        fb::root_as_model_with_opts(&opts, &self.bytes)
            .map_err(|e| TfliteError::Decode { msg: e.to_string() })
    }

    /// The model's description (the converter writes its name there), if any.
    pub fn description(&self) -> Option<String> {
        self.root().ok()?.description().map(str::to_string)
    }
}
