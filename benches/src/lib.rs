//! Criterion benchmarks of qnn (see `benches/`), and the layer suite they share with the
//! `layer_suite` binary (side-by-side timings with ONNX Runtime).

#[cfg(target_arch = "x86_64")]
pub mod peak;
pub mod suite;
