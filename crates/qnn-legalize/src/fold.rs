//! Constant folding of the weight-side terms of both lowerings (ARCHITECTURE.md §4).
//!
//! With `a` the data zero point, `w_k` the weight zero point of output channel `k` and `K` the
//! reduction length (`C/G·R·S`, dense: the input features):
//!
//! ```text
//! Y_k = Σ (P − a)(W_k − w_k) + bias_k
//!     = Σ P·W_k  −  a·Σ W_k  −  w_k·Σ P  +  a·w_k·K  +  bias_k
//!     =   T1     −    T2     −    T3     +    T4     +  bias_k
//! ```
//!
//! T2, T4 and the bias fold into one constant per channel; T3 stays a run-time term. The
//! int16 lowering folds `W_k − w_k` into int16 weights instead.

use ndarray::ArrayD;

use crate::analysis::QConv;
use crate::dtype::OperandPlan;

/// The folded operands of the int8-terms lowering for one operand plan.
#[derive(Debug, Clone)]
pub struct Int8Fold {
    pub plan: OperandPlan,
    /// Shifted data zero point: the conv's pad value and the T3 window sums' pad value.
    pub a: i64,
    /// Shifted weights per output channel, (r, s, c) order.
    pub kvec: Vec<Vec<i64>>,
    /// Shifted weight zero points: the T3 multipliers.
    pub wzp: Vec<i64>,
    /// `−a·ΣW_k + a·w_k·K + bias_k` per channel.
    pub constant: Vec<i64>,
}

impl Int8Fold {
    pub fn new(q: &QConv, plan: OperandPlan) -> Int8Fold {
        let a = q.a + plan.data_shift;
        let ws = plan.weight_shift;
        let kvec: Vec<Vec<i64>> =
            q.kvec.iter().map(|row| row.iter().map(|v| v + ws).collect()).collect();
        let wzp: Vec<i64> = q.wzp.iter().map(|w| w + ws).collect();
        let k = q.dims.k() as i64;
        let constant = kvec
            .iter()
            .zip(&wzp)
            .zip(&q.bias)
            .map(|((row, &w), &b)| -a * row.iter().sum::<i64>() + a * w * k + b)
            .collect();
        Int8Fold { plan, a, kvec, wzp, constant }
    }

    /// The shifted weights in the kernel's layout (made when emitted: a plan is analysed
    /// for every candidate, emitted for one).
    pub fn weights(&self, q: &QConv) -> ArrayD<i64> {
        let ws = self.plan.weight_shift;
        q.map_weights(|_, v| v + ws)
    }

    /// T3 is emitted when some weight zero point (after the shift) is nonzero.
    pub fn needs_t3(&self) -> bool {
        self.wzp.iter().any(|&w| w != 0)
    }

    /// The constant add is emitted when some channel's constant is nonzero.
    pub fn needs_constant(&self) -> bool {
        self.constant.iter().any(|&c| c != 0)
    }
}

/// The folded operands of the int16 lowering.
#[derive(Debug, Clone)]
pub struct Int16Fold {
    /// `W_k − w_k` per output channel, (r, s, c) order (|value| ≤ 255: fits int16).
    pub kvec: Vec<Vec<i64>>,
}

impl Int16Fold {
    /// `W_k − w_k` in the kernel's layout (made when emitted).
    pub fn weights(&self, q: &QConv) -> ArrayD<i64> {
        q.map_weights(|k, v| v - q.wzp[k])
    }

    pub fn new(q: &QConv) -> Int16Fold {
        let kvec = q
            .kvec
            .iter()
            .zip(&q.wzp)
            .map(|(row, &w)| row.iter().map(|v| v - w).collect())
            .collect();
        Int16Fold { kvec }
    }
}
