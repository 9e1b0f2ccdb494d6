//! The one error type of `qnn-tune`.

use std::path::PathBuf;

use qnn_ir::IrError;
use qnn_runtime::RuntimeError;

/// Why a measurement, a cache file or a calibration failed.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// The single-op model of a signature could not be built (a shape the IR refuses).
    #[error("op `{node}`: cannot build its single-op model: {source}")]
    Build {
        node: String,
        #[source]
        source: Box<IrError>,
    },

    /// Compiling or running a single-op model failed.
    #[error("op `{node}` on {backend} ({lowering}): {source}")]
    Runtime {
        node: String,
        backend: String,
        lowering: String,
        #[source]
        source: Box<RuntimeError>,
    },

    /// A signature the single-op builder cannot express.
    #[error("op `{node}`: {what}")]
    Unsupported { node: String, what: String },

    /// Reading or writing a cache or calibration file.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A cache or calibration file that does not parse, or has another format.
    #[error("{}: {what}", path.display())]
    Format { path: PathBuf, what: String },
}
