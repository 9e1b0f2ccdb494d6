//! The kernels around convolutions: pooling, element-wise and layout (transpose) kernels.
//!
//! Like the conv microkernels they compute a small, fixed piece of work on raw pointers
//! and leave the rest to the shared frame of `qnn-kernels` (the pointer tables of pooling
//! windows and their padding, tiling, threads). Each op's arithmetic is stated here, exactly:
//! a kernel gives the bits these formulas give, which are the bits of the reference
//! interpreter on the core ops the legalizer emits (ONNX Runtime's own formulas, for
//! models imported from ONNX).
//!
//! All activations are NHWC on the CPU, so a pooling window and an element-wise op both run
//! along contiguous channels.

use crate::dtype::DType;

/// What a pooling kernel computes over the cells of each window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PoolOp {
    /// The maximum over the cells of 8-bit data. Padding never wins: the frame points padded
    /// cells at a pixel of the dtype's minimum.
    Max,
    /// ONNX Runtime's `QLinearAveragePool` (every step in f32):
    ///
    /// ```text
    /// sum = +0; for each cell in window order: sum += f32(x − zp_in) · scale_in
    /// v   = rne(sum / count / scale_out + zp_out)          (each operation rounded to f32)
    /// y   = NaN ? 0 : clamp(v, lo, hi)                      (the saturating cast's rule)
    /// ```
    ///
    /// `x − zp_in` is the exact integer (the product and the sum are separate roundings, not
    /// a fused multiply-add); padded cells point at a pixel of `zp_in` (they add
    /// +0), so `zp_in` is a value of the input dtype. `count` is given per output pixel
    /// ([`PoolArgs::counts`]). The frame checks that both scales are finite and positive
    /// and that `lo ≤ hi` are integers of the output dtype.
    AverageF32 {
        /// Input zero point.
        zp_in: i32,
        /// Input scale.
        scale_in: f32,
        /// Output scale.
        scale_out: f32,
        /// Output zero point, as f32.
        zp_out: f32,
        /// Lower clamp bound (inside the output dtype).
        lo: f32,
        /// Upper clamp bound.
        hi: f32,
    },
    /// The exact integer sum over the cells into i32 output (the frame proves
    /// `cells · 255 < 2^31`). Padded cells point at a pixel of the pad value (a value of the
    /// input dtype).
    SumI32,
}

/// Arguments of one [`PoolMicrokernel`] call: `pixels` output pixels, every channel.
///
/// Output pixel `p`, channel `c`: reduce `*cells[p · taps + t].add(c)` over `t < taps` (in
/// `t` order) with [`PoolOp`], store it to element `p · out_stride + c` of `out`. Every
/// cell pointer is valid for `channels` elements of the input dtype. The output dtype is
/// the kernel entry's `operands.1`: the input's for [`PoolOp::Max`], u8 or i8 for
/// [`PoolOp::AverageF32`], i32 for [`PoolOp::SumI32`]. (The frame may pass a block of a
/// pixel's channels: the cell pointers and `out` then start at its first channel.)
#[derive(Debug)]
pub struct PoolArgs<'a> {
    /// `pixels × taps` cell pointers, pixel-major.
    pub cells: *const *const u8,
    /// Cells per window (≥ 1).
    pub taps: usize,
    /// Output pixels of this call (≥ 1).
    pub pixels: usize,
    /// Channels of a pixel (≥ 1).
    pub channels: usize,
    /// First output element.
    pub out: *mut u8,
    /// Output elements between output pixels (≥ `channels`: an output may be a channel
    /// slice of a wider tensor, such as a concatenation).
    pub out_stride: usize,
    /// The divisor of each output pixel (`pixels` entries) for [`PoolOp::AverageF32`];
    /// empty otherwise.
    pub counts: &'a [f32],
    /// What to compute.
    pub op: &'a PoolOp,
}

/// Which family of [`PoolOp`] a kernel computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolKind {
    Max,
    AverageF32,
    SumI32,
}

impl PoolOp {
    /// The op's family.
    pub fn kind(&self) -> PoolKind {
        match self {
            PoolOp::Max => PoolKind::Max,
            PoolOp::AverageF32 { .. } => PoolKind::AverageF32,
            PoolOp::SumI32 => PoolKind::SumI32,
        }
    }
}

/// A pooling kernel on NHWC data.
#[derive(Debug, Clone, Copy)]
pub struct PoolMicrokernel {
    /// The op family it computes.
    pub kind: PoolKind,
    /// Input element type (u8 or i8); the output's is the entry's `operands.1`.
    pub input: DType,
    /// Can this kernel run here (its ISA variant's CPU features)?
    pub probe: fn() -> Result<(), String>,
    /// # Safety
    /// The pointers of [`PoolArgs`] must be valid as described there, `op` of this kernel's
    /// kind, and the CPU must have the kernel's features (the frame runs both probes first).
    pub run: unsafe fn(&PoolArgs<'_>),
}

/// An element-wise op on contiguous runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ElementwiseOp<'a> {
    /// ONNX Runtime's `QLinearAdd` on 8-bit operands, in f32 (as the legalizer lowers it):
    /// `out[i] = clamp(rne(fma(f32(a[i]), ma, fma(f32(b[i]), mb, c))), lo, hi)`. The frame
    /// checks that `ma`, `mb`, `c` are finite and `lo ≤ hi` integers of the output dtype.
    QLinearAdd {
        /// Multiplier of `a`.
        ma: f32,
        /// Multiplier of `b`.
        mb: f32,
        /// The folded zero points.
        c: f32,
        /// Lower clamp bound (inside the output dtype).
        lo: f32,
        /// Upper clamp bound.
        hi: f32,
    },
    /// Any function of one 8-bit element: `out[i] = table[a[i] as u8]` (the index is the
    /// element's byte, so an i8 value `v` reads entry `v as u8`). The frame builds the table
    /// by running the reference on all 256 inputs, so any chain of element-wise ops with one
    /// 8-bit input and an 8-bit output is exact this way (requantize, activations,
    /// `DequantizeLinear → f(x) → QuantizeLinear`).
    Lookup {
        /// The 256 output bytes.
        table: &'a [u8; 256],
    },
    /// ONNX Runtime's `QuantizeLinear` of f32 to 8 bits:
    /// `out[i] = NaN ? lo : clamp(rne(a[i] / scale) + zero_point, lo, hi)`, where NaN is the
    /// value `rne(a[i] / scale) + zero_point` (a NaN input, `0/0`, `∞/∞`); `±∞` clamps. The
    /// zero point is an integer; `lo`, `hi` are the output dtype's bounds (the frame checks
    /// both).
    Quantize {
        /// The scale (`/ scale`, not `· 1/scale`: the bits differ).
        scale: f32,
        /// The zero point, as f32.
        zero_point: f32,
        /// The output dtype's bounds.
        lo: f32,
        /// The output dtype's bounds.
        hi: f32,
    },
    /// `DequantizeLinear` of 8-bit data to f32: `out[i] = f32(a[i] − zero_point) · scale`
    /// (`a[i] − zero_point` exact in i32: the frame checks the zero point).
    Dequantize {
        /// The zero point.
        zero_point: i32,
        /// The scale.
        scale: f32,
    },
}

/// Which family of [`ElementwiseOp`] a kernel computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElementwiseKind {
    QLinearAdd,
    Lookup,
    Quantize,
    Dequantize,
}

impl ElementwiseOp<'_> {
    /// The op's family.
    pub fn kind(&self) -> ElementwiseKind {
        match self {
            ElementwiseOp::QLinearAdd { .. } => ElementwiseKind::QLinearAdd,
            ElementwiseOp::Lookup { .. } => ElementwiseKind::Lookup,
            ElementwiseOp::Quantize { .. } => ElementwiseKind::Quantize,
            ElementwiseOp::Dequantize { .. } => ElementwiseKind::Dequantize,
        }
    }
}

/// Arguments of one [`ElementwiseMicrokernel`] call: elements `0 .. n` of `a` (and `b`)
/// into `out`, elements of the kernel's dtypes.
#[derive(Debug)]
pub struct ElementwiseArgs<'a> {
    /// Elements (≥ 1).
    pub n: usize,
    /// The first operand, `n` elements.
    pub a: *const u8,
    /// The second operand of a binary op (`n` elements), null otherwise.
    pub b: *const u8,
    /// `n` output elements.
    pub out: *mut u8,
    /// What to compute.
    pub op: &'a ElementwiseOp<'a>,
}

/// An element-wise kernel.
#[derive(Debug, Clone, Copy)]
pub struct ElementwiseMicrokernel {
    /// The op family it computes.
    pub kind: ElementwiseKind,
    /// Element types of `a`, `b` (the same as `a` for unary ops) and `out`.
    pub dtypes: (DType, DType, DType),
    /// Can this kernel run here?
    pub probe: fn() -> Result<(), String>,
    /// # Safety
    /// The pointers of [`ElementwiseArgs`] must be valid as described there, `op` of this
    /// kernel's kind, and the CPU must have the kernel's features.
    pub run: unsafe fn(&ElementwiseArgs<'_>),
}

/// The conversion a [`TransposeMicrokernel`] applies to each element it moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TransposeConvert {
    /// The element's bytes, unchanged (input and output dtypes are the same).
    None,
    /// [`ElementwiseOp::Quantize`] (f32 → 8 bits): the input edge of a quantized model.
    Quantize { scale: f32, zero_point: f32, lo: f32, hi: f32 },
    /// [`ElementwiseOp::Dequantize`] (8 bits → f32): an output edge.
    Dequantize { zero_point: i32, scale: f32 },
}

/// Arguments of one [`TransposeMicrokernel`] call: a `rows × cols` block.
///
/// Input element `(r, c)` at `src + (r · src_stride + c) · in_size` goes, converted, to
/// output element `(c, r)` at `dst + (c · dst_stride + r) · out_size` (strides in elements).
/// NCHW → NHWC is `rows = C`, `cols = H·W` per image; NHWC → NCHW the reverse.
#[derive(Debug)]
pub struct TransposeArgs<'a> {
    pub src: *const u8,
    pub src_stride: usize,
    pub dst: *mut u8,
    pub dst_stride: usize,
    /// Rows of the input block (≥ 1).
    pub rows: usize,
    /// Columns of the input block (≥ 1).
    pub cols: usize,
    pub convert: &'a TransposeConvert,
}

/// A blocked transpose (with an optional conversion): the layout changes at the graph's
/// edges.
#[derive(Debug, Clone, Copy)]
pub struct TransposeMicrokernel {
    /// Input and output element types: equal for [`TransposeConvert::None`] (1, 2 or 4
    /// bytes; only the size matters, the frame moves any dtype of that size with it), f32 →
    /// u8/i8 for `Quantize`, u8/i8 → f32 for `Dequantize`.
    pub dtypes: (DType, DType),
    /// Whether it converts, and how: the discriminant of [`TransposeConvert`] it accepts.
    pub converts: TransposeConvertKind,
    /// Can this kernel run here?
    pub probe: fn() -> Result<(), String>,
    /// # Safety
    /// The pointers of [`TransposeArgs`] must be valid as described there, `convert` of
    /// this kernel's kind, and the CPU must have the kernel's features.
    pub run: unsafe fn(&TransposeArgs<'_>),
}

/// Which [`TransposeConvert`] a kernel applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransposeConvertKind {
    None,
    Quantize,
    Dequantize,
}

impl TransposeConvert {
    /// The conversion's family.
    pub fn kind(&self) -> TransposeConvertKind {
        match self {
            TransposeConvert::None => TransposeConvertKind::None,
            TransposeConvert::Quantize { .. } => TransposeConvertKind::Quantize,
            TransposeConvert::Dequantize { .. } => TransposeConvertKind::Dequantize,
        }
    }
}
