//! Operators: the QNN dialect (`qnn.*`) and the core integer ops the lowerings produce.
//!
//! Every op has exactly one output. Quantization parameters are attributes (static), as in
//! every real quantized model.

pub mod attrs;
pub mod conv_transpose;
pub mod resize;

pub use attrs::{
    Conv2dAttrs, DataLayout, FixedRounding, KernelLayout, Pool2dAttrs, PoolKind, Rounding,
    window_output,
};
pub use conv_transpose::{ConvTranspose2dAttrs, DilateAttrs};
pub use resize::{CoordinateMode, NearestMode, ResizeAttrs, ResizeMode};

use crate::dtype::DType;
use crate::quant::QuantParams;

/// A fixed-point multiplier `M = multiplier · 2^(shift − 31)`, `multiplier` a Q31 value in
/// `[2^30, 2^31)` (or 0 for `M = 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedPointMultiplier {
    pub multiplier: i32,
    pub shift: i32,
}

/// The multipliers of a core `requantize`: fixed point or ONNX Runtime's f32.
#[derive(Debug, Clone, PartialEq)]
pub enum RequantScale {
    Fixed { mults: Vec<FixedPointMultiplier>, rounding: FixedRounding },
    Float { mults: Vec<f32> },
}

impl RequantScale {
    pub fn len(&self) -> usize {
        match self {
            RequantScale::Fixed { mults, .. } => mults.len(),
            RequantScale::Float { mults } => mults.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An operator with its attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    // ---- QNN dialect -----------------------------------------------------------------
    /// f32 → `out_dtype`: `clamp(round_half_even(x / scale) + zp)` (per tensor or per axis).
    QnnQuantize {
        output: QuantParams,
        out_dtype: DType,
    },
    /// integer → f32: `f32(x − zp) · scale`.
    QnnDequantize {
        input: QuantParams,
    },
    /// integer → `out_dtype`: `clamp(zp_out + round(s_in / s_out · (x − zp_in)))`.
    QnnRequantize {
        input: QuantParams,
        output: QuantParams,
        rounding: Rounding,
        out_dtype: DType,
    },
    /// (data u8/i8, kernel u8/i8) → i32 with scale `s_data · s_kernel[k]` and zero point 0.
    /// Padded cells hold the data zero point (real value 0).
    QnnConv2d {
        conv: Conv2dAttrs,
        input: QuantParams,
        kernel: QuantParams,
    },
    /// Transposed convolution (ONNX `ConvTranspose`): (data u8/i8 NCHW, kernel u8/i8
    /// `[C, M/G, kh, kw]`) → i32 NCHW with scale `s_data · s_kernel[m]`, exact:
    /// `Y[n, m, y, x] = Σ (X[n, c, i, j] − a) · (W[c, m mod M/G, r, s] − w_m)` over every
    /// `(c, i, j, r, s)` of `m`'s group with `i·sh + r·dh − pt = y`, `j·sw + s·dw − pl = x`.
    /// Kernel parameters per tensor or per output channel (`axis` 0, `M` entries: ONNX's
    /// weights along axis 1 repeated for each group).
    QnnConv2dTranspose {
        conv: ConvTranspose2dAttrs,
        input: QuantParams,
        kernel: QuantParams,
    },
    /// (data [.., K], kernel [N, K]) → i32 [.., N]; kernel parameters per tensor or along axis 0.
    QnnDense {
        input: QuantParams,
        kernel: QuantParams,
    },
    /// Broadcasting quantized addition, requantized to `output`.
    ///
    /// Float mode is ONNX Runtime's x86 QLinearAdd kernel (MLAS, AVX2), in which the zero
    /// points fold into one f32 constant and two FMAs combine the raw operands:
    /// `r_a = f32(s_a / s_out)`, `r_b = f32(s_b / s_out)`,
    /// `c = f32(zp_out) − fma(r_a, zp_a, f32(r_b · zp_b))`,
    /// `y = clamp(round_half_even(fma(a, r_a, fma(b, r_b, c))))`. The operands are not
    /// interchangeable: `lhs` is MLAS's `A` (the importer swaps them where ORT does).
    QnnAdd {
        lhs: QuantParams,
        rhs: QuantParams,
        output: QuantParams,
        rounding: Rounding,
        out_dtype: DType,
    },
    /// Broadcasting quantized multiplication, requantized to `output`. Float mode is ONNX
    /// Runtime's x86 QLinearMul: `clamp(rne(f32(f32(p) · m) + f32(zp_out)))` with the exact
    /// product `p = (a − zp_a)(b − zp_b)` and `m = f32(f32(s_a · s_b) / s_out)` (the zero point
    /// is added before rounding).
    QnnMul {
        lhs: QuantParams,
        rhs: QuantParams,
        output: QuantParams,
        rounding: Rounding,
        out_dtype: DType,
    },
    /// Concatenation of quantized tensors, each requantized to `output` (only clamped where its
    /// parameters equal the output's). Float mode is ONNX Runtime's QLinearConcat: quantize the
    /// dequantized value, `clamp(round_half_even(f32(f32(x − zp_in) · s_in) / s_out) + zp_out)`.
    QnnConcatenate {
        inputs: Vec<QuantParams>,
        output: QuantParams,
        axis: usize,
        rounding: Rounding,
        out_dtype: DType,
    },
    /// Average pooling: `requantize(Σ_window (x − zp_in), s_in / (s_out · count))` where
    /// `count` is the window size, or the number of unpadded cells when
    /// `count_include_pad` is false.
    ///
    /// Float mode is ONNX Runtime's QLinearAveragePool, computed in f32 throughout: each
    /// unpadded cell dequantized (`f32(x − zp_in) · s_in`), summed in window order (rows, then
    /// columns) from +0, divided by `f32(count)`, then
    /// `clamp(round_half_even(f32(avg / s_out) + f32(zp_out)))` (the zero point is added
    /// before rounding).
    QnnAvgPool2d {
        pool: Pool2dAttrs,
        count_include_pad: bool,
        input: QuantParams,
        output: QuantParams,
        rounding: Rounding,
        out_dtype: DType,
    },
    /// Global average pooling over H×W (output H = W = 1): `requantize(Σ (x − zp_in),
    /// s_in / (s_out · H·W))`. Float mode is ONNX Runtime's QLinearGlobalAveragePool (MLAS):
    /// the multiplier is `f32(s_in / f32(s_out · f32(H·W)))`.
    QnnGlobalAvgPool2d {
        layout: DataLayout,
        input: QuantParams,
        output: QuantParams,
        rounding: Rounding,
        out_dtype: DType,
    },
    /// Max pooling of quantized values (same parameters in and out; padding never wins).
    QnnMaxPool2d {
        pool: Pool2dAttrs,
    },
    /// Clip of a quantized tensor to real bounds `[min, max]`, i.e. to
    /// `[zp + round_half_even(min / scale), zp + round_half_even(max / scale)]` ∩ dtype.
    QnnClip {
        min: f32,
        max: f32,
        q: QuantParams,
    },
    /// Quantized ReLU: `max(x, zp)`.
    QnnRelu {
        q: QuantParams,
    },

    // ---- core integer ops ------------------------------------------------------------
    /// (data u8/i8/i16, weight u8/i8/i16) → i32, exact. Padded cells hold `pad_value`.
    Conv2d {
        conv: Conv2dAttrs,
        pad_value: i32,
    },
    /// (data [.., K], weight [N, K]) → i32 [.., N], exact.
    Dense,
    /// Numpy `matmul` of operands of rank ≥ 2, batch dimensions broadcast:
    /// `[.., M, K] × [.., K, N] → [.., M, N]`. Integers (u8/i8/i16 operands) → i32, exact.
    /// f32 × f32 → f32 with every output `Σ_k a[m, k] · b[k, n]` accumulated in f32 in
    /// increasing `k` from +0, each product and sum rounded (no FMA); ONNX Runtime's SGEMM
    /// sums in another order, so float results can differ from it in the last bits.
    MatMul,
    /// f32 softmax along `axis`: `exp(x − max) / Σ exp(x − max)` over that axis, each output
    /// computed in f64 and rounded once to f32 (ONNX Runtime's MLAS softmax uses a polynomial
    /// `exp` and can differ in the last bits).
    Softmax {
        axis: usize,
    },
    /// Table lookup: (data u8/i8, table of 256 entries) → `table[x − min(dtype(x))]`, in the
    /// table's dtype with the data's shape. ONNX Runtime computes QLinearLeakyRelu and
    /// QLinearSigmoid this way; the importer builds the table.
    Lookup,
    /// Element type conversion. Integer → integer saturates; f32 → integer rounds half to
    /// even, then saturates (NaN → 0); integer → f32 rounds to nearest.
    Cast {
        to: DType,
    },
    /// Broadcasting (numpy rules) element-wise ops on equal dtypes. Integer overflow of the
    /// dtype is an error, never a wrap.
    Add,
    Subtract,
    Multiply,
    /// f32 division.
    Divide,
    /// f32 round half to even.
    Round,
    /// f32 fused multiply-add `a · b + c` with one rounding (IEEE fusedMultiplyAdd),
    /// broadcasting its three inputs: ONNX Runtime's QLinearAdd computes with FMAs.
    Fma,
    /// Sum over `axes` (integers → i32, f32 → f32).
    Sum {
        axes: Vec<usize>,
        keepdims: bool,
    },
    /// Window reduction: sum of integers into i32; sum of f32 into f32, accumulated from +0 in
    /// window order (rows, then columns; ONNX Runtime's average pooling order); or max in the
    /// input dtype (also on f32, where NaN cells never win).
    Pool2d {
        kind: PoolKind,
        pool: Pool2dAttrs,
        pad_value: i32,
    },
    /// Constant padding: `pads[axis] = [before, after]`.
    Pad {
        pads: Vec<[usize; 2]>,
        value: f64,
    },
    /// Clamp to `[min, max]` (same dtype).
    Clip {
        min: f64,
        max: f64,
    },
    /// integer → `out_dtype`: `clamp(zp_out + round(M · (x − zp_in)))`. `scale` holds one
    /// multiplier, or one per element of the dimensions `axes` (row-major over them).
    Requantize {
        scale: RequantScale,
        axes: Vec<usize>,
        input_zero_point: i32,
        output_zero_point: i32,
        out_dtype: DType,
    },
    Reshape {
        shape: Vec<usize>,
    },
    /// Zero insertion of a 4-D tensor (any dtype): `Y[.., i, j] = X[.., (i + ct)/sh,
    /// (j + cl)/sw]` where both divide exactly, `value` elsewhere (see [`DilateAttrs`]).
    Dilate {
        dilate: DilateAttrs,
    },
    Transpose {
        perm: Vec<usize>,
    },
    /// Strided window along every axis: `y[i] = x[starts[a] + i[a] · steps[a]]`, `y` of shape
    /// `sizes` (ONNX `Slice` and `Split` once the importer resolved negative and clamped
    /// indices). Steps are non-zero and may be negative; every index read lies inside `x`.
    Slice {
        starts: Vec<usize>,
        steps: Vec<i64>,
        sizes: Vec<usize>,
    },
    Concatenate {
        axis: usize,
    },
    /// ONNX `Resize` / `Upsample` on u8, i8 or f32 data as ONNX Runtime's CPU kernel
    /// computes it (see [`ResizeAttrs`] and `reference::resize`).
    Resize {
        resize: ResizeAttrs,
    },
}

impl Op {
    /// The op's name in the text form (`qnn.conv2d`, `conv2d`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Op::QnnQuantize { .. } => "qnn.quantize",
            Op::QnnDequantize { .. } => "qnn.dequantize",
            Op::QnnRequantize { .. } => "qnn.requantize",
            Op::QnnConv2d { .. } => "qnn.conv2d",
            Op::QnnConv2dTranspose { .. } => "qnn.conv2d_transpose",
            Op::QnnDense { .. } => "qnn.dense",
            Op::QnnAdd { .. } => "qnn.add",
            Op::QnnMul { .. } => "qnn.mul",
            Op::QnnConcatenate { .. } => "qnn.concatenate",
            Op::QnnAvgPool2d { .. } => "qnn.avg_pool2d",
            Op::QnnGlobalAvgPool2d { .. } => "qnn.global_avg_pool2d",
            Op::QnnMaxPool2d { .. } => "qnn.max_pool2d",
            Op::QnnClip { .. } => "qnn.clip",
            Op::QnnRelu { .. } => "qnn.relu",
            Op::Conv2d { .. } => "conv2d",
            Op::Dense => "dense",
            Op::MatMul => "matmul",
            Op::Softmax { .. } => "softmax",
            Op::Lookup => "lookup",
            Op::Cast { .. } => "cast",
            Op::Add => "add",
            Op::Subtract => "subtract",
            Op::Multiply => "multiply",
            Op::Divide => "divide",
            Op::Round => "round",
            Op::Fma => "fma",
            Op::Sum { .. } => "sum",
            Op::Pool2d { .. } => "pool2d",
            Op::Pad { .. } => "pad",
            Op::Dilate { .. } => "dilate",
            Op::Clip { .. } => "clip",
            Op::Requantize { .. } => "requantize",
            Op::Reshape { .. } => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::Slice { .. } => "slice",
            Op::Concatenate { .. } => "concatenate",
            Op::Resize { .. } => "resize",
        }
    }

    /// True for ops of the QNN dialect (they carry quantization parameters and are lowered
    /// by `qnn-legalize`).
    pub fn is_qnn(&self) -> bool {
        self.name().starts_with("qnn.")
    }
}
