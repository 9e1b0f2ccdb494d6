//! Helpers shared by the `reference_*` integration tests.
#![allow(dead_code)]

use proptest::prelude::*;
use qnn_ir::DType;

/// Property-test case count: `QNN_PROPTEST_CASES` when set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("QNN_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

pub fn config(default: u32) -> ProptestConfig {
    ProptestConfig { cases: cases(default), failure_persistence: None, ..ProptestConfig::default() }
}

/// Values of an integer dtype, biased towards the edges of the range and 0.
pub fn value_of(dtype: DType) -> BoxedStrategy<i64> {
    let (lo, hi) = dtype.int_range().expect("integer dtype");
    prop_oneof![
        3 => lo..=hi,
        1 => prop::sample::select(vec![lo, hi, 0, 1, (-1i64).max(lo), lo + 1, hi - 1]),
    ]
    .boxed()
}

/// Zero points of an 8-bit dtype with the edge values 0/255/−128/127 well represented.
pub fn zero_point_of(dtype: DType) -> BoxedStrategy<i32> {
    let (lo, hi) = dtype.int_range().expect("integer dtype");
    let edges: Vec<i32> = [0i64, 255, -128, 127, 1, -1]
        .into_iter()
        .filter(|&v| dtype.contains(v))
        .map(|v| v as i32)
        .collect();
    prop_oneof![1 => (lo as i32)..=(hi as i32), 1 => prop::sample::select(edges)].boxed()
}

/// `n / d` rounded to nearest, `d > 0`, ties as `tie`: from the Euclidean quotient and
/// remainder, `n = q·d + r` with `0 ≤ r < d`.
pub fn round_div(n: i128, d: i128, tie: Tie) -> i128 {
    let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => match tie {
            Tie::Up => q + 1,
            Tie::AwayFromZero => {
                if n > 0 {
                    q + 1
                } else {
                    q
                }
            }
            Tie::Even => {
                if q % 2 == 0 {
                    q
                } else {
                    q + 1
                }
            }
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tie {
    Up,
    AwayFromZero,
    Even,
}
