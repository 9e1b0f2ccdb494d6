//! Shared by the integration tests: test networks, random inputs, property-test settings.
#![allow(dead_code)]

pub mod data_graph;
pub mod nets;
pub mod op_fixtures;
pub mod random_graph;

use proptest::prelude::*;
use qnn_ir::{DType, Tensor};

/// Property-test case count: `QNN_PROPTEST_CASES` when set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("QNN_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

pub fn config(default: u32) -> ProptestConfig {
    ProptestConfig { cases: cases(default), failure_persistence: None, ..ProptestConfig::default() }
}

/// True under user-mode emulation (an aarch64 build run by qemu with `QEMU_CPU` set, as
/// `cargo xtask test` does per CPU model), where heavy tests run a documented subset.
pub fn emulated() -> bool {
    cfg!(target_arch = "aarch64") && std::env::var_os("QEMU_CPU").is_some()
}

/// Deterministic pseudo-random integers in `[lo, hi]`.
pub fn values(n: usize, seed: u64, lo: i64, hi: i64) -> Vec<i64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lo + ((s >> 33) % (hi - lo + 1) as u64) as i64
        })
        .collect()
}

/// A tensor of `dtype` from `i64` values.
pub fn tensor(dtype: DType, shape: &[usize], v: Vec<i64>) -> Tensor {
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).unwrap();
    Tensor::from_i64("test", dtype, a).unwrap()
}

/// An f32 tensor of pseudo-random values in `[lo, hi)`.
pub fn f32_tensor(shape: &[usize], seed: u64, lo: f32, hi: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let v = values(n, seed, 0, 1 << 20)
        .into_iter()
        .map(|v| lo + (hi - lo) * v as f32 / (1 << 20) as f32);
    Tensor::from_vec(shape, v.collect::<Vec<f32>>()).unwrap()
}

/// The backends usable on this machine (probe succeeds), sorted.
pub fn usable_backends() -> Vec<&'static str> {
    qnn_ir::backend::registry::backends()
        .into_iter()
        .filter(|d| d.probe().is_ok())
        .map(|d| d.name)
        .collect()
}

/// Environment variable: every GPU test must run (a skip is a failure).
pub const REQUIRE_CUDA_ENV: &str = "QNN_REQUIRE_CUDA";

/// Why the `cuda-dp4a` backend cannot run here (`None`: a GPU is usable).
pub fn cuda_unavailable() -> Option<String> {
    match qnn_ir::backend::registry::backend("cuda-dp4a") {
        Some(d) => d.probe().err(),
        None => Some("the cuda-dp4a backend is not linked".into()),
    }
}

/// True when a CUDA device is usable. Otherwise prints that `test` was SKIPPED and why, or
/// fails when `QNN_REQUIRE_CUDA=1`.
pub fn gpu_or_skip(test: &str) -> bool {
    let Some(why) = cuda_unavailable() else { return true };
    let required = std::env::var(REQUIRE_CUDA_ENV).is_ok_and(|v| v.trim() == "1");
    assert!(!required, "{test}: no usable CUDA device ({why}) and {REQUIRE_CUDA_ENV}=1");
    // Straight to stderr: the harness captures `eprintln!`, and a skip must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {test}: {why}. Set {REQUIRE_CUDA_ENV}=1 to make this a failure."
    );
    false
}
