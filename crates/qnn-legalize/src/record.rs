//! What legalization decided, per node of the source graph, as typed values: the hand-off to
//! the runtime.
//!
//! [`legalize`](crate::legalize()) returns, next to the lowered graph and the explanation, one
//! [`Record`] per source node, in source order: which lowered nodes it emitted, the lowered
//! value that stands for its output, and — for the QNN ops — what the lowering decided and
//! computed ([`RecordKind`]). The runtime builds its fused conv/dense ops from these records
//! (the conv's lowering, backend, folded weights and constants, then the requantize and clip
//! records that read its output), so nothing it needs travels through node names or has to be
//! recognized again in the lowered graph. Every lowered node belongs to exactly one record.
//!
//! Node indices and value ids refer to [`Legalized::graph`](crate::Legalized::graph).

use std::sync::Arc;

use qnn_ir::backend::{ConvGeometry, Int8Dot};
use qnn_ir::{DType, Pool2dAttrs, RequantScale, Tensor, ValueId};

use crate::analysis::ConvForm;
use crate::lowering::Lowering;

/// One source node and what it became.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The source node's name (for a conv/dense with a folded bias, the conv's).
    pub source: String,
    /// The lowered nodes it emitted, in emission order.
    pub nodes: Vec<usize>,
    /// The lowered value that stands for the source node's output (for a conv/dense with a
    /// folded bias, for the bias add's).
    pub output: ValueId,
    pub kind: RecordKind,
}

/// What one source node was lowered to.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordKind {
    /// `qnn.conv2d` / `qnn.dense` (and a following constant bias `add`, folded in).
    Conv(Box<ConvRecord>),
    /// `qnn.requantize`.
    Requantize(RequantizeRecord),
    /// `qnn.clip` or `qnn.relu`: a clamp to integer bounds.
    Clip(ClipRecord),
    /// `qnn.quantize`.
    Quantize(QuantizeRecord),
    /// `qnn.dequantize`.
    Dequantize(DequantizeRecord),
    /// `qnn.add`.
    Add(AddRecord),
    /// `qnn.mul`.
    Mul(MulRecord),
    /// `qnn.concatenate`.
    Concat(ConcatRecord),
    /// `qnn.max_pool2d`, `qnn.avg_pool2d`, `qnn.global_avg_pool2d`.
    Pool(PoolRecord),
    /// A core op, copied as it is (its one node).
    Core,
}

/// A conv/dense: the decision and everything the fused kernel call needs.
///
/// The lowered chain computes, from [`input`](Self::input):
/// `operand = input + input_offset` (the prologue: the int8 data shift, or the int16 widening
/// with `−a`), `y = conv(operand, weights, pad = pad_value) + channel_constant −
/// t3_zero_points · windowsum(operand)` (terms absent when `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvRecord {
    /// conv2d (with its attributes, layouts as in the graph) or dense.
    pub form: ConvForm,
    /// Shape and window (NHWC terms; dense: rows × K → N).
    pub geometry: ConvGeometry,
    pub lowering: Lowering,
    /// The backend the policy chose; `None` when the weights are computed at run time (no
    /// choice: the int16 upcast).
    pub backend: Option<&'static str>,
    /// The int8 dot product the operands were legalized for, if any.
    pub int8_dot: Option<Int8Dot>,
    /// Dtypes (data, weights) of the core conv/dense.
    pub operands: (DType, DType),
    /// Added to the data and its zero point by dtype legalization (0, ±128; int16: 0).
    pub data_shift: i64,
    /// Added to the weights and their zero points (0, ±128; int16: 0).
    pub weight_shift: i64,
    /// The data as the source op reads it.
    pub input: ValueId,
    /// Added to `input` by the prologue: the data shift (int8) or `−a` (int16).
    pub input_offset: i32,
    /// The core op's data operand (`input` when there is no prologue).
    pub operand: ValueId,
    /// The prologue's nodes (shift or widening), in order.
    pub prologue: Vec<usize>,
    /// The core `conv2d` / `dense` node.
    pub core: usize,
    /// Value of padded cells, in the operand's domain (conv2d int8: the shifted zero point;
    /// int16 and dense: 0).
    pub pad_value: i32,
    pub weights: ConvWeights,
    /// Added per output channel after the conv (int8: `−a'·ΣW'_k + a'·w'_k·K + bias_k`;
    /// int16: the bias); `None` when every channel's is 0 (no node emitted).
    pub channel_constant: Option<Vec<i32>>,
    /// The T3 multipliers `w'_k` (subtracted times the window sums); `None` when all are 0.
    pub t3_zero_points: Option<Vec<i32>>,
    /// Whether a following bias `add` was folded in.
    pub bias_folded: bool,
}

/// The weights of a conv/dense as the core op reads them.
#[derive(Debug, Clone, PartialEq)]
pub enum ConvWeights {
    /// Folded at legalization (shifted for int8, `W − w_k` for int16), at the operand dtype
    /// (u8/i8, or i16), its elements in OHWI order (dense: `[N, K]`) whatever its shape; often
    /// the very tensor of the lowered graph's constant (shared, not copied).
    Folded(Arc<Tensor>),
    /// Computed at run time: the core op's weight operand (`W − w_k` in i16, in the graph's
    /// kernel layout), which constant folding may still turn into a constant.
    RunTime(ValueId),
}

/// A core `requantize`'s parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct RequantizeParams {
    pub scale: RequantScale,
    /// Axes the multipliers vary along (empty: one multiplier).
    pub axes: Vec<usize>,
    pub input_zero_point: i32,
    pub output_zero_point: i32,
    pub out_dtype: DType,
}

/// `qnn.requantize`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequantizeRecord {
    pub input: ValueId,
    /// The core `requantize` emitted.
    pub params: RequantizeParams,
    /// Its node.
    pub node: usize,
    /// `true` when the lowering is that one node on `input`; `false` when zero points that
    /// vary per channel add nodes around it (see the lowering).
    pub single: bool,
}

/// `qnn.clip` / `qnn.relu`: a core `clip` to `[min, max]` (integers of the input dtype).
#[derive(Debug, Clone, PartialEq)]
pub struct ClipRecord {
    pub input: ValueId,
    pub min: i64,
    pub max: i64,
}

/// Per-tensor or per-axis (scale, zero point) parameters as a lowering applies them.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelParams {
    /// One per channel along `axis`, or one.
    pub scale: Vec<f32>,
    pub zero_point: Vec<i32>,
    pub axis: Option<usize>,
}

/// `qnn.quantize`: `clamp(rne(x / scale) + zp)` of f32 `input`, NaN → the dtype's minimum.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizeRecord {
    pub input: ValueId,
    pub params: ChannelParams,
    pub out_dtype: DType,
}

/// `qnn.dequantize`: `f32(x − zp) · scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct DequantizeRecord {
    pub input: ValueId,
    pub params: ChannelParams,
}

/// `qnn.add` of `inputs`, saturated to `out_dtype`.
#[derive(Debug, Clone, PartialEq)]
pub struct AddRecord {
    pub inputs: [ValueId; 2],
    pub form: AddForm,
    pub out_dtype: DType,
}

/// How `qnn.add` is computed.
#[derive(Debug, Clone, PartialEq)]
pub enum AddForm {
    /// ONNX Runtime's QLinearAdd: `rne(fma(a, ma, fma(b, mb, c)))` in f32 on the raw values.
    Float { ma: f32, mb: f32, c: f32 },
    /// `requantize(a − za, a) + requantize(b − zb, b) + zo` in i32 (fixed-point modes).
    Fixed { a: RequantScale, b: RequantScale, zero_points: [i32; 3] },
}

/// `qnn.mul`: `(a − za)·(b − zb)` in i32, then scaled to the output.
#[derive(Debug, Clone, PartialEq)]
pub struct MulRecord {
    pub inputs: [ValueId; 2],
    pub zero_points: [i32; 2],
    /// Float mode: `m = f32(f32(s_a·s_b) / s_o)`, `rne(p·m + zp_o)`; fixed modes: a requantize.
    pub scale: RequantScale,
    pub output_zero_point: i32,
    pub out_dtype: DType,
}

/// `qnn.concatenate` along `axis` of `inputs`, each converted to the output's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ConcatRecord {
    pub inputs: Vec<ValueId>,
    pub axis: usize,
    pub parts: Vec<ConcatPart>,
    pub out_dtype: DType,
}

/// How one input of a concatenation reaches the output's parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum ConcatPart {
    /// Same parameters and dtype: copied.
    Copy,
    /// Same parameters: a saturating cast.
    Cast,
    /// Fixed modes: a requantize.
    Requantize(RequantizeParams),
    /// ONNX Runtime's QLinearConcat: `rne(f32(f32(x − zp_in) · s_in) / s_out) + zp_out`.
    Float { zp_in: i32, s_in: f32, s_out: f32, zp_out: i32 },
}

/// A pooling op.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolRecord {
    pub input: ValueId,
    /// The window (global average pooling: one window over H×W).
    pub pool: Pool2dAttrs,
    pub form: PoolForm,
}

/// What a pooling op computes per window.
#[derive(Debug, Clone, PartialEq)]
pub enum PoolForm {
    /// The maximum (padding never wins).
    Max,
    /// The integer window sum, padded with `zp`, then `requantize` (input zero point
    /// `K·zp`; per-position multipliers when the count excludes padding).
    AverageFixed { sum: SumForm, requantize: RequantizeParams },
    /// ONNX Runtime's QLinearAveragePool in f32: `rne(Σ f32(x − zp_in)·s_in / count / s_out +
    /// zp_out)`, `counts` one or one per output position.
    AverageF32 {
        zp_in: i32,
        s_in: f32,
        counts: Vec<usize>,
        s_out: f32,
        zp_out: i32,
        out_dtype: DType,
    },
}

/// How the integer window sum of an average pool is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SumForm {
    /// `pool2d` sum padded with the zero point.
    Window { pad_value: i32 },
    /// A `sum` over H and W (global average pooling).
    Global,
}
