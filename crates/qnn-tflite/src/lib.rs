//! `qnn-tflite`: TensorFlow Lite models in, qnn-ir graphs in the QNN dialect out.
//!
//! Reads `.tflite` flatbuffers (schema 3, through code `flatc` generated from TFLite's
//! `schema.fbs`: see `generated/`) and imports the first subgraph of full-integer models: int8
//! activations with symmetric per-channel int8 weights and int32 biases, and the older uint8
//! per-tensor ones. Activations stay NHWC as TFLite has them; weights keep TFLite's `OHWI`.
//!
//! Requantization follows TFLite's integer arithmetic: multipliers derived from the float
//! scales as TFLite's `QuantizeMultiplier` derives them (in `f64`), applied as its kernels apply
//! them (see [`Kernels`]), so the imported graph gives LiteRT's outputs bit for bit.
//!
//! ```no_run
//! use qnn_tflite::{ImportOptions, Model};
//! let model = Model::from_path("model.tflite")?;
//! let imported = model.import(&ImportOptions::default())?;
//! println!("{} qnn nodes", imported.graph.nodes.len());
//! # Ok::<(), qnn_tflite::TfliteError>(())
//! ```

mod error;
mod generated;
mod import;
mod model;

/// TFLite's flatbuffer schema as `flatc` generated it: readers, and builders (the tests build
/// models with them).
pub mod schema {
    pub use crate::generated::*;
}

pub use error::TfliteError;
pub use import::{ImportOptions, Imported, IoInfo, Kernels, OperatorSummary};
pub use model::{Model, is_tflite};
