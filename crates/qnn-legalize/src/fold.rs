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
//!
//! A fold holds per-channel values only: the folded weights (`W + shift`, `W − w_k`) are
//! made, at their element type, when the lowering is emitted, and range analysis reads the
//! op's own weights with the shift applied per element.

use std::sync::Arc;

use qnn_ir::{DType, Tensor};

use crate::analysis::QConv;
use crate::dtype::OperandPlan;
use crate::error::LegalizeError;

/// The folded operands of the int8-terms lowering for one operand plan.
#[derive(Debug, Clone)]
pub struct Int8Fold {
    pub plan: OperandPlan,
    /// Shifted data zero point: the conv's pad value and the T3 window sums' pad value.
    pub a: i64,
    /// Shifted weight zero points: the T3 multipliers.
    pub wzp: Vec<i64>,
    /// `−a·ΣW_k + a·w_k·K + bias_k` per channel (`W`, `w_k` shifted).
    pub constant: Vec<i64>,
}

/// Folded weights: in the graph's layout (the lowered graph's constant) and in OHWI order
/// (the record's), one tensor when the graph's order is OHWI already.
#[derive(Debug, Clone)]
pub struct FoldedWeights {
    pub graph: Arc<Tensor>,
    pub ohwi: Arc<Tensor>,
}

impl Int8Fold {
    pub fn new(q: &QConv, plan: OperandPlan) -> Int8Fold {
        let a = q.a + plan.data_shift;
        let ws = plan.weight_shift;
        let wzp: Vec<i64> = q.wzp.iter().map(|w| w + ws).collect();
        let k = q.dims.k() as i64;
        let constant = q
            .rows()
            .zip(&wzp)
            .zip(&q.bias)
            .map(|((row, &w), &b)| -a * (row.sum() + ws * k) + a * w * k + b)
            .collect();
        Int8Fold { plan, a, wzp, constant }
    }

    /// The shifted weights at the plan's weight dtype (made when emitted: a plan is analysed
    /// for every candidate, emitted for one). Unshifted weights are the op's own tensors.
    pub fn weights(&self, q: &QConv) -> Result<FoldedWeights, LegalizeError> {
        let ws = self.plan.weight_shift as i32;
        if ws == 0 && self.plan.weight_dtype == q.weight_dtype {
            return Ok(FoldedWeights { graph: q.weights.clone(), ohwi: q.ohwi.clone() });
        }
        let dtype = self.plan.weight_dtype;
        let graph = q.map_weights(&q.node, dtype, |_, v| v + ws)?;
        let ohwi = q.map_ohwi(&q.node, dtype, &graph, |_, v| v + ws)?;
        Ok(FoldedWeights { graph, ohwi })
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

/// The folded operands of the int16 lowering: `W_k − w_k` (|value| ≤ 255: fits int16), made
/// when emitted; range analysis reads `W` with `w_k` subtracted per element.
#[derive(Debug, Clone, Default)]
pub struct Int16Fold;

impl Int16Fold {
    /// `W_k − w_k` as int16, in the graph's layout and in OHWI order (made when emitted).
    pub fn weights(&self, q: &QConv) -> Result<FoldedWeights, LegalizeError> {
        let sub = |k: usize, v: i32| v - q.wzp[k] as i32;
        let graph = q.map_weights(&q.node, DType::I16, sub)?;
        let ohwi = q.map_ohwi(&q.node, DType::I16, &graph, sub)?;
        Ok(FoldedWeights { graph, ohwi })
    }

    pub fn new(_q: &QConv) -> Int16Fold {
        Int16Fold
    }
}
