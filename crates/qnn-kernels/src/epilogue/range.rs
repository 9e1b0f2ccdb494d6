//! The range argument that lets every kernel accumulate and finish in i32.

use qnn_ir::{IntSlice, with_ints};

use super::EpilogueSpec;
use crate::error::KernelError;
use crate::problem::ConvProblem;

/// Proves, per output channel `k`, that `v = acc + bias − t3 · window_sum − input_zero_point`
/// and every partial sum of `acc` fit i32, from the actual weights and the range of the
/// (offset) data: `acc ∈ [Σ_j min(w_j·lo, w_j·hi), Σ_j max(w_j·lo, w_j·hi)]` (a partial sum
/// lies in the same interval), `window_sum ∈ [K·lo, K·hi]`. Kernels may then add in wrapping
/// i32 arithmetic and hardware pair sums (`vpmaddwd`) cannot overflow: the result is exact.
/// A layer that could leave i32 is refused (the reference reports such overflows).
pub fn check_accumulator_range<'w>(
    problem: &ConvProblem,
    weights: impl Into<IntSlice<'w>>,
    spec: &EpilogueSpec,
) -> Result<(), KernelError> {
    let weights = weights.into();
    let g = &problem.geometry;
    let k_len = g.reduction_len();
    let (lo, hi) = problem.shifted_data_range();
    let at = |v: &[i32], k: usize| i64::from(if v.len() == 1 { v[0] } else { v[k] });
    for k in 0..g.out_c {
        let (mut a_lo, mut a_hi) = (0i64, 0i64);
        with_ints!(weights.slice(k * k_len, (k + 1) * k_len), row => {
            for &w in row {
                let (p, q) = (i64::from(w) * lo, i64::from(w) * hi);
                a_lo += p.min(q);
                a_hi += p.max(q);
            }
        });
        let b = if spec.bias.is_empty() { 0 } else { at(&spec.bias, k) }
            - i64::from(spec.input_zero_point);
        let (t_lo, t_hi) = match &spec.t3_zero_point {
            Some(z) if !z.is_empty() => {
                let z = at(z, k);
                let (p, q) = (z * lo * k_len as i64, z * hi * k_len as i64);
                (p.min(q), p.max(q))
            }
            _ => (0, 0),
        };
        let i32_range = i64::from(i32::MIN)..=i64::from(i32::MAX);
        for value in [a_lo, a_hi, a_lo + b - t_hi, a_hi + b - t_lo] {
            if !i32_range.contains(&value) {
                return Err(KernelError::AccumulatorRange { channel: k, value });
            }
        }
    }
    Ok(())
}
