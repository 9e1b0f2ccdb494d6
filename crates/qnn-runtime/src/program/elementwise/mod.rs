//! A fused element-wise evaluator: a group of core element-wise ops over one output shape
//! (the canonical lowerings of `qnn.add`, `qnn.quantize`, `qnn.dequantize`, `qnn.requantize`,
//! `qnn.clip`, …) compiled to a small register program that runs over chunks of elements,
//! each instruction a tight loop over the chunk. Intermediate values never reach memory.
//!
//! Every instruction computes exactly what the reference computes for its op (integers are
//! exact; an integer result outside its dtype is an error, as in the reference; f32 steps
//! are the same IEEE operations in the same order). Broadcast operands are read through an
//! index pattern `src[(i / inner) % len]` (scalars, per-channel constants in NHWC, per-row
//! values); constants are decoded once at compile time.
//!
//! This module holds the compiled form and its compiler ([`GroupCompiler`]); the evaluator
//! that runs it is `exec::elementwise`.

mod compile;
pub(crate) mod fast;
pub(crate) mod numeric;

pub(crate) use compile::GroupCompiler;

use qnn_ir::{DType, FixedPointMultiplier, FixedRounding};

use crate::broadcast::Pattern;
use numeric::FixedStages;

/// Elements per chunk: the registers of a chunk stay in L1.
pub(crate) const CHUNK: usize = 256;

/// A register: an integer (i32 lanes; every integer dtype fits) or an f32 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reg {
    I(usize),
    F(usize),
}

/// Where an operand comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Input `index` of the step, elements of `dtype`.
    Input {
        index: usize,
        dtype: DType,
    },
    /// A constant, decoded.
    IntConst(Vec<i32>),
    F32Const(Vec<f32>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntBin {
    Add,
    Sub,
    Mul,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatBin {
    Add,
    Sub,
    Mul,
    Div,
}

/// The multipliers of a requantize instruction.
#[derive(Debug, Clone)]
pub(crate) enum Mults {
    /// Two-stage integer form (inputs with `|x − zp_in| ≤ 2^31`).
    Stages(Vec<FixedStages>),
    /// The reference's exact form, for inputs beyond that bound.
    Exact(Vec<FixedPointMultiplier>, FixedRounding),
    Float(Vec<f32>),
}

/// `requantize`: `clamp(zp_out + round(M · (x − zp_in)), lo, hi)`.
#[derive(Debug, Clone)]
pub(crate) struct Requant {
    pub zp_in: i64,
    pub zp_out: i64,
    pub lo: i64,
    pub hi: i64,
    pub mults: Mults,
    /// Which multiplier an element uses.
    pub pattern: Pattern,
    /// `x − zp_in` fits i32 for every input value.
    pub x_fits_i32: bool,
}

/// An operand of a binary instruction: a register, or a scalar constant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Arg<T> {
    Reg(usize),
    Imm(T),
}

/// Instructions. Registers are in SSA order: `dst` is always a register allocated after
/// every register the instruction reads, which lets the evaluator borrow them apart.
#[derive(Debug, Clone)]
pub(crate) enum Instr {
    /// Reads operand `operand` into `dst`.
    Load {
        dst: Reg,
        operand: usize,
    },
    /// Exact integer op; a result outside `dtype` is an error naming op `op`.
    IntBin {
        kind: IntBin,
        dst: usize,
        a: Arg<i32>,
        b: Arg<i32>,
        dtype: DType,
        op: usize,
    },
    FloatBin {
        kind: FloatBin,
        dst: usize,
        a: Arg<f32>,
        b: Arg<f32>,
    },
    /// `a · b + c` with one rounding (`fma`).
    Fma {
        dst: usize,
        a: Arg<f32>,
        b: Arg<f32>,
        c: Arg<f32>,
    },
    /// Integer → integer `cast` (saturating) and integer `clip`.
    IntClamp {
        dst: usize,
        a: usize,
        lo: i32,
        hi: i32,
    },
    IntToF32 {
        dst: usize,
        a: usize,
    },
    /// f32 → integer `cast`: round half to even, saturate, NaN → 0. `integral`: `a` holds
    /// integers (or NaN, ±∞) already, so the rounding is the identity and is skipped.
    F32ToInt {
        dst: usize,
        a: usize,
        lo: f32,
        hi: f32,
        integral: bool,
    },
    Round {
        dst: usize,
        a: usize,
    },
    /// f32 `clip` (computed in f64, NaN kept, as the reference).
    ClipF32 {
        dst: usize,
        a: usize,
        lo: f64,
        hi: f64,
    },
    Requantize {
        dst: usize,
        a: usize,
        r: Box<Requant>,
    },
}

/// An operand and how elements read it.
#[derive(Debug, Clone)]
pub(crate) struct Operand {
    pub source: Source,
    pub pattern: Pattern,
}

/// An output stored transposed: the element at index `idx` of the group's shape (row-major)
/// goes to element `Σ idx[a] · strides[a]` of the output. Fuses the layout conversion after
/// an element-wise group (the input's quantization, NCHW → NHWC) into its stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scatter {
    pub shape: Vec<usize>,
    pub strides: Vec<usize>,
}

impl Scatter {
    /// The scatter that stores a tensor of `shape` transposed by `perm` (output axis `i` is
    /// input axis `perm[i]`).
    pub(crate) fn transpose(shape: &[usize], perm: &[usize]) -> Scatter {
        let out_shape: Vec<usize> = perm.iter().map(|&a| shape[a]).collect();
        let mut out_strides = vec![1usize; shape.len()];
        for i in (0..shape.len().saturating_sub(1)).rev() {
            out_strides[i] = out_strides[i + 1] * out_shape[i + 1];
        }
        let mut strides = vec![0usize; shape.len()];
        for (i, &a) in perm.iter().enumerate() {
            strides[a] = out_strides[i];
        }
        Scatter { shape: shape.to_vec(), strides }
    }
}

/// A compiled group: `outputs[k] = stores[k]` after running `instrs` on every element.
#[derive(Debug)]
pub(crate) struct ElementwiseGroup {
    /// Elements of the group's shape.
    pub len: usize,
    pub operands: Vec<Operand>,
    pub instrs: Vec<Instr>,
    pub int_regs: usize,
    pub f32_regs: usize,
    /// For each output of the step: the register and the dtype written.
    pub stores: Vec<(Reg, DType)>,
    /// Per store, a transposed destination (then the group runs as one task).
    pub scatter: Vec<Option<Scatter>>,
    /// Names of the ops, for errors (`IntBin::op` indexes it).
    pub op_names: Vec<String>,
    /// The whole program as one loop, when it is a form [`fast`] knows.
    pub fast: Option<fast::FastForm>,
}
