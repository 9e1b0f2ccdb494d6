//! The dataflow the optimizer produces and the planner consumes: the folded graph with each
//! fused conv/dense as one step ([`ConvSpec`]), each op around the convolutions that the
//! frame's kernels compute as one typed step ([`DataSpec`]: pooling, element-wise ops,
//! concatenation, layout conversions), values carrying their physical layout.
//! [`fuse`](super::fuse) builds it, [`layout`](super::layout) rewrites it to NHWC and
//! [`edges`](super::edges) fuses the conversions at its edges.

use std::sync::Arc;

use qnn_ir::backend::{PoolOp, TransposeConvert};
use qnn_ir::{DType, DataLayout, Graph, Op, Pool2dAttrs, Tensor, TensorType, ValueId};
use qnn_kernels::{ConvProblem, ElementwiseSpec, EpilogueSpec};
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
    /// OHWI weights at the weight dtype (read as they are when packed).
    pub weights: Arc<Tensor>,
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

/// An op around the convolutions as a typed step: what one kernel of the frame computes
/// (`qnn_kernels`' `PoolPlan`, `ElementwisePlan`, `TransposePlan`), or a concatenation of
/// copies. Read off the legalizer's records ([`fuse`](super::fuse)), or made by the layout
/// passes (the conversions at the edges).
#[derive(Debug, Clone)]
pub(crate) struct DataSpec {
    pub op: DataOp,
    /// Indices of the graph nodes it replaces, sorted (none for a layout conversion).
    pub nodes: Vec<usize>,
    /// The same computation as a graph of those nodes (inputs → output, logical layout):
    /// what runs, on the reference interpreter, when no kernel takes the step. `None` for a
    /// plain layout conversion (the runtime's own transpose runs it then).
    pub unfused: Option<Arc<Graph>>,
}

/// What a [`DataSpec`] computes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DataOp {
    /// A window reduction of 8-bit data: max, ONNX Runtime's f32 average, or the exact i32
    /// sum (padded cells `pad_value`; a global average pool is the sum over the whole
    /// image, its requantize a step of its own). `pool.layout` is the data's (NHWC after
    /// the layout pass).
    Pool { op: PoolOp, pool: Pool2dAttrs, count_include_pad: bool, pad_value: i32 },
    /// An element-wise op of the frame on operands of the output's shape: QLinearAdd,
    /// a lookup (any function of one 8-bit value), quantize, dequantize.
    Elementwise(ElementwiseSpec),
    /// Concatenation along `axis` (of the stored tensors) of plain copies.
    Concat { axis: usize },
    /// A layout conversion (`perm` of the stored tensor), converting each element.
    Transpose { perm: Vec<usize>, convert: TransposeConvert },
}

impl ConvSpec {
    /// The OHWI weights at their element type (`ohwi` made them an integer tensor in
    /// standard layout).
    pub fn weight_values(&self) -> qnn_ir::IntSlice<'_> {
        self.weights.int_slice().expect("OHWI weights are integers in standard layout")
    }
}

impl DataOp {
    /// What it computes, for the plan report (`max pool 3×3 s2`, `qlinear-add`, …).
    pub(crate) fn describe(&self) -> String {
        match self {
            DataOp::Pool { op, pool, .. } => {
                let what = match op {
                    PoolOp::Max => "max pool",
                    PoolOp::AverageF32 { .. } => "average pool (f32)",
                    PoolOp::SumI32 => "sum pool",
                };
                let [kh, kw] = pool.kernel;
                let s = if pool.strides != [1, 1] {
                    format!(" s{}", pool.strides[0])
                } else {
                    String::new()
                };
                format!("{what} {kh}×{kw}{s}")
            }
            DataOp::Elementwise(spec) => match spec {
                ElementwiseSpec::QLinearAdd { .. } => "qlinear-add".into(),
                ElementwiseSpec::Lookup { .. } => "lookup".into(),
                ElementwiseSpec::Quantize { .. } => "quantize".into(),
                ElementwiseSpec::Dequantize { .. } => "dequantize".into(),
            },
            DataOp::Concat { .. } => "concatenate".into(),
            DataOp::Transpose { convert, .. } => match convert {
                TransposeConvert::None => "transpose".into(),
                TransposeConvert::Quantize { .. } => "quantize + transpose".into(),
                TransposeConvert::Dequantize { .. } => "dequantize + transpose".into(),
            },
        }
    }
}

/// What a step computes.
#[derive(Debug)]
pub(crate) enum StepKind {
    /// A core op on physical tensors.
    Op(Box<Op>),
    /// A fused conv/dense: NHWC (or `[.., K]`) in, NHWC (or `[.., N]`) out.
    Conv(Box<ConvSpec>),
    /// An op around the convolutions, typed (see [`DataSpec`]).
    Data(Box<DataSpec>),
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
