//! Lowering policies: which lowering (and backend) each conv/dense gets.
//!
//! The legalizer builds, for every `qnn.conv2d`/`qnn.dense`, the [`Candidate`]s of the target:
//! per backend, the int8-terms lowering with the best operand plan for its int8 dot product
//! (see [`crate::dtype`]) and the int16 lowering. Range analysis has already split them into
//! provably safe candidates and [`Rejected`] ones; a policy only chooses among the safe ones
//! and says why.
//!
//! * [`Capability`]: TVM's rule — a fast int8 dot product → int8 terms, else int16.
//! * [`CostModel`]: estimates both lowerings from the op's shape and the descriptor's cost
//!   figures, with an optional memory budget for int16 weights.
//! * [`Forced`]: wraps another policy and forces a lowering globally or per node.
//!
//! **The measured policy** (`qnn_tune::Measured`, in a crate above the runtime because it
//! compiles and times single-op models) implements the same trait: [`DecisionContext`]
//! carries the op's [`OpSignature`] (kind, N, H, W, C, O, R, S, strides, padding, dilation,
//! groups, dtypes, zero points, MACs) and each candidate's backend descriptor, lowering and
//! operand dtypes, which is what it needs to time both lowerings with the backend's kernels
//! (keyed by backend, CPU and signature) and return its [`Estimate`]s, measured times
//! ([`Estimate::measured_ns`]) next to the cost model's. The trait is object safe so the
//! runtime can hold any of them as `&dyn LoweringPolicy`.
//!
//! [`Calibration`] holds cost figures fitted on a machine, which [`CostModel::calibrated`]
//! uses in place of the descriptors'.

pub mod calibration;
mod capability;
mod cost_model;
mod forced;

use std::fmt;

use qnn_ir::DType;
use qnn_ir::backend::{BackendDescriptor, Int8Dot, KernelClass};
use serde::{Deserialize, Serialize};

use crate::lowering::Lowering;
use crate::signature::OpSignature;
use crate::target::Target;

pub use calibration::{CalibratedFigures, Calibration};
pub use capability::Capability;
pub use cost_model::CostModel;
pub use forced::Forced;

/// One way to run an op: a lowering on a backend, with the operand dtypes it implies.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub lowering: Lowering,
    pub backend: &'static BackendDescriptor,
    /// The int8 dot product the operands are legalized to (int8 terms on a backend that has
    /// one), else `None`.
    pub int8_dot: Option<Int8Dot>,
    /// Dtypes (data, weight) at the core conv/dense.
    pub operands: (DType, DType),
    /// The kernel class that runs the main reduction.
    pub class: KernelClass,
    /// Shift added to the data at run time (dtype legalization), 0 when none.
    pub data_shift: i64,
    /// Shift folded into the weights, 0 when none.
    pub weight_shift: i64,
    /// Whether the T3 window-sum pass is emitted.
    pub needs_t3: bool,
    /// Bytes of the folded weights (int16 weights take two per value).
    pub weight_bytes: u64,
}

impl Candidate {
    /// `x86-vnni int8-terms u8×i8`.
    pub fn describe(&self) -> String {
        format!("{} {} {}×{}", self.backend.name, self.lowering, self.operands.0, self.operands.1)
    }
}

/// A candidate that range analysis could not prove safe.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub candidate: Candidate,
    pub reason: String,
}

/// What a policy sees for one op.
#[derive(Debug)]
pub struct DecisionContext<'a> {
    pub signature: &'a OpSignature,
    pub target: &'a Target,
    /// Provably safe candidates, in the target's backend order (highest priority first).
    pub candidates: &'a [Candidate],
    pub rejected: &'a [Rejected],
    /// Weight bytes of the ops decided before this one (graph order), for memory budgets.
    pub weight_bytes_committed: u64,
}

/// One estimate a policy compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub backend: String,
    pub lowering: Lowering,
    /// Estimated (or measured) cycles; `None` when the candidate could not be estimated or
    /// was ruled out.
    pub cycles: Option<f64>,
    /// How the number was made, or why there is none.
    pub note: String,
    /// The candidate's time measured on this machine (median, nanoseconds), when a measuring
    /// policy timed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_ns: Option<f64>,
}

/// A policy's choice: an index into [`DecisionContext::candidates`], and why.
#[derive(Debug, Clone)]
pub struct Decision {
    pub choice: usize,
    pub reason: String,
    pub estimates: Vec<Estimate>,
}

/// Chooses a lowering per op. Object safe.
pub trait LoweringPolicy: fmt::Debug + Send + Sync {
    /// Name shown in explanations (`capability`, `cost-model`, …).
    fn name(&self) -> String;
    /// Picks one of `ctx.candidates`, or refuses with a reason.
    fn decide(&self, ctx: &DecisionContext<'_>) -> Result<Decision, String>;
}

/// Why nothing could be chosen: the rejected candidates' reasons.
pub(crate) fn nothing_safe(ctx: &DecisionContext<'_>) -> String {
    if ctx.rejected.is_empty() {
        return "no candidate".into();
    }
    ctx.rejected
        .iter()
        .map(|r| format!("{}: {}", r.candidate.describe(), r.reason))
        .collect::<Vec<_>>()
        .join("; ")
}
