//! The program: what a compiled model runs, built from the [plan](crate::plan). Each unit
//! becomes an [`ExecStep`] — a prepacked conv kernel, a device op, a planned pooling,
//! element-wise or layout kernel, an element-wise register program, a data-movement or
//! reduction step with its parameters, or an op for the reference interpreter — reading and
//! writing planned ranges of the arena or constants.
//! The [executor](crate::exec) runs it.

mod build;
mod data;
mod describe;
pub(crate) mod elementwise;
pub(crate) mod movement;
pub(crate) mod reduce;
pub(crate) mod tensors;

use std::ops::Range;
use std::sync::Arc;

use qnn_ir::backend::PreparedDeviceOp;
use qnn_ir::{Graph, Op, TensorType};
use qnn_kernels::{ConvPlan, ElementwisePlan, PoolPlan, TransposePlan};

pub(crate) use build::build;
use elementwise::ElementwiseGroup;
use movement::{ResizeNearest, Transpose};
use reduce::{Pool, SumBlock};

/// A compiled model's steps and data.
#[derive(Debug)]
pub(crate) struct Program {
    pub steps: Vec<ExecStep>,
    /// Constants the steps read, as bytes.
    pub consts: Vec<Vec<u8>>,
    /// Graph inputs: name, type, arena range.
    pub inputs: Vec<(String, TensorType, Range<usize>)>,
    /// Graph outputs: type and where to read them.
    pub outputs: Vec<(TensorType, Buf)>,
    pub arena_bytes: usize,
}

impl Program {
    /// Bytes of the weights prepacked for the CPU kernels (device ops hold theirs on the
    /// device).
    pub fn packed_weight_bytes(&self) -> usize {
        let packed = |s: &ExecStep| match &s.kind {
            ExecKind::Conv { plan, .. } => plan.packed_bytes(),
            _ => 0,
        };
        self.steps.iter().map(packed).sum()
    }
}

/// Where a step's input lives.
#[derive(Debug, Clone)]
pub(crate) enum Buf {
    Arena(Range<usize>),
    /// Index into the program's constants.
    Const(usize),
}

/// How a step computes.
#[derive(Debug)]
pub(crate) enum ExecKind {
    Conv {
        plan: Box<ConvPlan>,
        kernel: &'static str,
    },
    /// A fused conv/dense prepared on a device: the input is copied there and the output
    /// back on every run.
    Device {
        op: Box<dyn PreparedDeviceOp>,
        kernel: &'static str,
    },
    /// A device op placed by `Compiler::plan` and never prepared: such a model is only
    /// reported, never returned, so this is never run.
    Unprepared {
        kernel: &'static str,
    },
    /// A pooling layer on its kernel (NHWC).
    PoolKernel {
        plan: Box<PoolPlan>,
        kernel: &'static str,
    },
    /// An element-wise op on its kernel (a second operand for QLinearAdd).
    ElementwiseKernel {
        plan: Box<ElementwisePlan>,
        kernel: &'static str,
    },
    /// A layout conversion (and quantize / dequantize) on its kernel.
    TransposeKernel {
        plan: Box<TransposePlan>,
        kernel: &'static str,
    },
    /// A fused conv/dense or typed step no kernel takes: its unfused graph on the reference
    /// interpreter, each input and the output converted from and to NHWC where stored so.
    /// `inputs` follows the step's; a value read twice is given once (`None` the second
    /// time), as the graph has one input per value.
    Unfused {
        graph: Arc<Graph>,
        inputs: Vec<Option<Stored>>,
        output: Stored,
    },
    Elementwise(ElementwiseGroup),
    Transpose(Transpose),
    Copy,
    Concat {
        shapes: Vec<Vec<usize>>,
        axis: usize,
        elem: usize,
    },
    /// A `nearest` resize: contiguous runs copied by index maps, threaded over rows.
    ResizeNearest(ResizeNearest),
    Sum(SumBlock),
    Pool(Pool),
    /// The reference kernel of `op` on tensors of these types.
    Reference {
        op: Op,
        inputs: Vec<TensorType>,
        output: TensorType,
    },
}

/// A tensor as the arena stores it: its physical type, and whether it is a logical NCHW
/// tensor stored NHWC.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub ty: TensorType,
    pub nhwc: bool,
}

/// One step of a compiled model.
#[derive(Debug)]
pub(crate) struct ExecStep {
    pub name: String,
    pub kind: ExecKind,
    pub inputs: Vec<Buf>,
    pub outputs: Vec<Range<usize>>,
}
