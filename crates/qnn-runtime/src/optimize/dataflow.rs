//! The dataflow the optimizer produces and the planner consumes: the folded graph with each
//! fused conv/dense as one step ([`ConvSpec`]), values carrying their physical layout.
//! [`fuse`](super::fuse) builds it, [`layout`](super::layout) rewrites it to NHWC.

use std::sync::Arc;

use qnn_ir::{DType, DataLayout, Graph, Op, Tensor, TensorType, ValueId};
use qnn_kernels::{ConvProblem, EpilogueSpec};
use qnn_legalize::Lowering;

/// Index of a dataflow value.
pub(crate) type Vid = usize;

/// Where a value comes from.
#[derive(Debug, Clone)]
pub(crate) enum Def {
    Input,
    Const(Arc<Tensor>),
    Step,
}

/// A value: its physical type (the layout pass permutes 4-D NCHW tensors to NHWC and sets
/// `nhwc`; the logical tensor is then the physical one transposed by `[0, 3, 1, 2]`).
#[derive(Debug, Clone)]
pub(crate) struct PValue {
    pub name: String,
    pub ty: TensorType,
    pub def: Def,
    pub nhwc: bool,
}

/// The logical form of a fused op's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConvKind {
    /// A conv2d whose graph tensors are in this layout.
    Conv2d(DataLayout),
    /// A dense layer `[.., K] × [N, K]ᵀ`.
    Dense,
}

/// One fused conv/dense: the frame's [`ConvProblem`] (NHWC geometry, operand dtypes, pad
/// value, fused data offset), OHWI weights and the [`EpilogueSpec`] (per-channel constant,
/// T3, requantize, clamp), ready for kernel selection.
#[derive(Debug, Clone)]
pub(crate) struct ConvSpec {
    /// The core conv/dense node's name.
    pub name: String,
    pub kind: ConvKind,
    pub lowering: Lowering,
    /// The backend the legalizer chose for it (tried first), if it chose one.
    pub backend: Option<&'static str>,
    pub problem: ConvProblem,
    /// OHWI weights (i32 values of the weight dtype).
    pub weights: Vec<i32>,
    pub epilogue: EpilogueSpec,
    /// The value the fused op reads and the one it defines.
    pub input: ValueId,
    pub output: ValueId,
    /// Indices of the graph nodes it replaces, sorted.
    pub nodes: Vec<usize>,
    /// What was fused, for the plan report (`bias`, `T3`, `requantize(float)`, …).
    pub fused: Vec<String>,
    /// The same computation as a graph of those nodes (input → output, logical layout): what
    /// runs, on the reference interpreter, when no kernel takes the fused op.
    pub unfused: Arc<Graph>,
}

/// What a step computes.
#[derive(Debug)]
pub(crate) enum StepKind {
    /// A core op on physical tensors.
    Op(Box<Op>),
    /// A fused conv/dense: NHWC (or `[.., K]`) in, NHWC (or `[.., N]`) out.
    Conv(Box<ConvSpec>),
}

/// One step: `output = kind(inputs)`.
#[derive(Debug)]
pub(crate) struct Step {
    pub name: String,
    pub kind: StepKind,
    pub inputs: Vec<Vid>,
    pub output: Vid,
    /// Names of the lowered-graph nodes it computes (for the report).
    pub nodes: Vec<String>,
    /// Why it runs the way it does, when that needs saying.
    pub note: String,
}

#[derive(Debug)]
pub(crate) struct Dataflow {
    pub values: Vec<PValue>,
    pub steps: Vec<Step>,
    pub inputs: Vec<Vid>,
    pub outputs: Vec<Vid>,
}

impl Dataflow {
    /// Adds a value defined by a step.
    pub(crate) fn add_value(&mut self, name: String, ty: TensorType, nhwc: bool) -> Vid {
        self.values.push(PValue { name, ty, def: Def::Step, nhwc });
        self.values.len() - 1
    }

    /// Adds a constant.
    pub(crate) fn add_const(&mut self, name: String, t: Tensor, nhwc: bool) -> Vid {
        self.values.push(PValue { name, ty: t.ty(), def: Def::Const(Arc::new(t)), nhwc });
        self.values.len() - 1
    }

    /// The constant tensor of a value, if it is one.
    pub(crate) fn constant(&self, v: Vid) -> Option<&Arc<Tensor>> {
        match &self.values[v].def {
            Def::Const(t) => Some(t),
            _ => None,
        }
    }
}

/// The integers a `clip` to `[min, max]` keeps in `dtype`, as the reference computes them;
/// `None` when the reference would refuse the clip (no integer inside, NaN bounds).
pub(crate) fn clip_bounds(min: f64, max: f64, dtype: DType) -> Option<(i32, i32)> {
    let (lo_d, hi_d) = dtype.int_range()?;
    if min.is_nan() || max.is_nan() || min > max {
        return None;
    }
    let lo = (min.ceil() as i64).max(lo_d);
    let hi = (max.floor() as i64).min(hi_d);
    (lo <= hi).then_some((lo as i32, hi as i32))
}
