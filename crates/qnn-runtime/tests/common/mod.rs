//! Shared by the integration tests: test networks, random inputs, property-test settings.
#![allow(dead_code)]

pub mod nets;
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
