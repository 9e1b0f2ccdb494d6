//! Shared code of qnn's fuzz targets (`fuzz_targets/*.rs`): the checks run on every graph a
//! target obtains, the structure-aware ONNX mutator and its seed models.

pub mod diff_graph;
pub mod graph_check;
pub mod onnx_mutate;
pub mod onnx_seeds;

use qnn_ir::limits::Limits;
use qnn_onnx::{ImportOptions, Model};

/// The limits the targets import and parse with: small, so that a model that gets past them
/// allocates little, and libFuzzer's `-malloc_limit_mb` (set by `cargo xtask fuzz`) catches
/// any allocation that escapes them.
pub const LIMITS: Limits = Limits { max_tensor_bytes: 16 << 20, max_graph_bytes: 64 << 20 };

/// Imports `bytes` and checks what comes out; errors are answers, panics are bugs.
///
/// A model that imports must give a graph that prints and parses back, and (when small) runs
/// on the reference interpreter without panicking.
pub fn import_and_check(bytes: &[u8]) {
    let Ok(model) = Model::from_bytes(bytes) else { return };
    let _ = model.inputs();
    let _ = model.outputs();
    let _ = model.static_inputs();
    let opts = ImportOptions { limits: LIMITS, ..ImportOptions::default() };
    let Ok(imported) = model.import(&opts) else { return };
    graph_check::check_text_round_trip(&imported.graph);
    graph_check::run_reference_if_cheap(&imported.graph, bytes.len() as u64);
}

/// [`import_and_check`] for TensorFlow Lite models: both kernel sets' arithmetic.
pub fn import_tflite_and_check(bytes: &[u8]) {
    let Ok(model) = qnn_tflite::Model::from_bytes(bytes.to_vec()) else { return };
    for kernels in [qnn_tflite::Kernels::Builtin, qnn_tflite::Kernels::Reference] {
        let opts = qnn_tflite::ImportOptions { kernels, limits: Some(LIMITS) };
        let Ok(imported) = model.import(&opts) else { return };
        graph_check::check_text_round_trip(&imported.graph);
        graph_check::run_reference_if_cheap(&imported.graph, bytes.len() as u64);
    }
}
