//! Kernel entries: what a backend contributes to the runtime.
//!
//! A backend registers microkernels; the shared CPU frame (`qnn-kernels`) does everything
//! around them: weight prepacking (once, at plan time), the indirection that turns a
//! convolution into a GEMM without an im2col copy, partitioning across threads, and the
//! parameters of the fused epilogue. Two kinds of microkernel exist:
//!
//! * [`IndirectGemmMicrokernel`]: an `mr × nr` register tile of an indirect GEMM
//!   `C[m, n] = Σ_t Σ_k A_t[m][k] · B[t, k, n]` where `A_t[m]` is a pointer per tap and row
//!   (convolution without im2col: a pointer to the input pixel a tap reads, or to a buffer of
//!   the pad value). Dense layers and 1×1 convolutions are the case `taps = 1`.
//! * [`DepthwiseMicrokernel`]: one output row of a depthwise convolution, all channels.
//!
//! Both finish with the fused epilogue ([`Epilogue`]): per-channel constant, the T3
//! window-sum term, requantization and clamp, written to u8/i8/i32 output (ARCHITECTURE.md §4).
//! (The first draft's packed-panel [`GemmMicrokernel`] remains for backends written against
//! it.) `qnn-kernels` provides that epilogue as generic `#[inline(always)]` code a backend
//! instantiates inside its own `#[target_feature]` functions.

use crate::dtype::DType;
use crate::ops::FixedRounding;

use super::data_kernels::{ElementwiseMicrokernel, PoolMicrokernel, TransposeMicrokernel};
use super::descriptor::KernelClass;

/// Arguments of one [`IndirectGemmMicrokernel`] call: one `mr × nr` tile of the output.
///
/// Reduction: `acc[i][j] = Σ_{t < taps} Σ_{k < kc} A(t, i)[k] · B(t, k, j)` where
/// `A(t, i) = *a.add(t · mr + i)` points at `kc` contiguous data elements and `B` is the
/// packed weight panel: `taps · kc / kr` blocks of `nr` columns × `kr` k values each, in the
/// kernel's [`PanelLayout`] (`b[block][j][kk]` for [`PanelLayout::Interleaved`]), elements
/// of the kernel's packed weight dtype, little-endian. Columns at or beyond the real `n` of
/// the layer hold zero weights; k values beyond a tap's real channel count hold zero
/// weights, so the data they meet does not matter (it must be readable).
#[derive(Debug)]
pub struct IndirectGemmArgs<'a> {
    /// Number of taps (kernel positions whose data is contiguous), ≥ 1.
    pub taps: usize,
    /// Elements read per tap and row; a positive multiple of the kernel's `kr`.
    pub kc: usize,
    /// `taps × mr` row pointers, tap-major. Every pointer is valid for `kc` elements, also
    /// for rows at or beyond `m` (the frame repeats a valid row there).
    pub a: *const *const u8,
    /// The packed weight panel of this tile's columns (of the first tile of a strip).
    pub b: *const u8,
    /// Consecutive column tiles this call computes, ≥ 1; more than 1 only for a kernel whose
    /// [`IndirectGemmMicrokernel::strip`] is set. Tile `s` reads the panel at
    /// `b + s · panel_stride` and writes columns `s · nr ..` of the output, with the
    /// epilogue's parameters from slot `s · nr`.
    pub tiles: usize,
    /// Bytes between the panels of consecutive column tiles.
    pub panel_stride: usize,
    /// Rows of the tile that are written (1 ..= mr).
    pub m: usize,
    /// Columns that are written, over the whole strip (1 ..= tiles · nr; only the last
    /// tile may be partial).
    pub n: usize,
    /// What to do with the accumulators.
    pub out: TileOutput<'a>,
}

/// Destination of a GEMM tile.
#[derive(Debug)]
pub enum TileOutput<'a> {
    /// Store the raw i32 accumulators: row `i < m`, column `j < n` to
    /// `c[i · row_stride + j]`.
    Raw {
        /// First element of the tile.
        c: *mut i32,
        /// i32 elements between rows.
        row_stride: usize,
    },
    /// Apply the fused epilogue and store `out_dtype` values: row `i`, column `j` to element
    /// `i · row_stride + j` of `out`.
    Fused {
        /// Column parameters, starting at this tile's first column.
        epilogue: &'a Epilogue<'a>,
        /// Window sums of the tile's rows (`m` entries) when the epilogue has a T3 term.
        row_sums: Option<&'a [i32]>,
        /// First element of the tile (u8, i8 or i32 elements, per the epilogue's dtype).
        out: *mut u8,
        /// Elements between rows.
        row_stride: usize,
    },
}

/// A register-tiled indirect GEMM microkernel (see [`IndirectGemmArgs`]): the fast path of
/// every CPU backend in this repository.
#[derive(Debug, Clone, Copy)]
pub struct IndirectGemmMicrokernel {
    /// Rows (output pixels) per tile.
    pub mr: usize,
    /// Columns (output channels) per tile.
    pub nr: usize,
    /// k values packed together per column: 4 for `vpdpbusd`/`sdot`, 2 for `vpmaddwd`,
    /// 1 for a scalar or `smlal` kernel.
    pub kr: usize,
    /// Element types the kernel reads (data, weights). The frame converts the layer's
    /// operands to them exactly (u8/i8 → i16 widening) or refuses. When the data type is the
    /// layer's own 8-bit type the kernel reads the input in place, also for a layer with a
    /// data offset (the int16 lowering's `x − a`): the frame then passes the raw values
    /// (padding: the raw pad value) and folds the offset into the per-channel constant,
    /// `Σ_k (x_k − a) · w_k = Σ_k x_k · w_k − a · Σ_k w_k` (and the T3 window sums likewise),
    /// which is exact in wrapping i32 because the final value is proven to fit. An
    /// `(u8, i16)` kernel therefore widens 8-bit data in registers and serves both
    /// lowerings without a widened copy of the input.
    pub packed: (DType, DType),
    /// How the k values of a block are laid out in the weight panel.
    pub layout: PanelLayout,
    /// Whether the kernel applies [`TileOutput::Fused`] itself. When false the frame passes
    /// only [`TileOutput::Raw`] and runs the portable epilogue afterwards.
    pub fused_epilogue: bool,
    /// Whether one call may compute a strip of consecutive column tiles
    /// ([`IndirectGemmArgs::tiles`]; with a fused epilogue). The frame then passes each row
    /// tile's columns in one call instead of one call per tile, which saves the per-tile
    /// work around the reduction (pointers, the call, the epilogue's set-up) where the
    /// reduction is short (1×1 layers with 16 to 96 input channels).
    pub strip: bool,
    /// A condition the weights must meet, checked when they are packed.
    pub constraint: WeightConstraint,
    /// Can this kernel run here (the CPU features of its ISA variant)? Runs in addition to
    /// the backend descriptor's probe, for backends whose kernels need different features.
    pub probe: fn() -> Result<(), String>,
    /// # Safety
    /// The pointers of [`IndirectGemmArgs`] must be valid as described there, and the CPU
    /// must have the kernel's features (the frame runs both probes first).
    pub run: unsafe fn(&IndirectGemmArgs<'_>),
}

/// The order of the weights within one block of a packed GEMM panel (`nr` columns × `kr`
/// k values of one tap), chosen by the kernel to match how it widens or pairs its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelLayout {
    /// Column by column, each column's `kr` k values consecutive: `b[block][j][kk]`.
    Interleaved,
    /// The block's even k values (0, 2, …, kr − 2) of every column, column by column
    /// (`nr × kr/2` values), then its odd k values (1, 3, …) the same way; `kr` is even. For
    /// a kernel that broadcasts `kr` data bytes and splits them into their even and odd
    /// bytes, each zero- or sign-extended into 16-bit lanes (x86 `vpand`/`vpsrlw` instead of
    /// a shuffle per k pair): with `kr = 4`, the even half pairs `(x_0, x_2)` with the
    /// weights `(w_0, w_2)` of each column, the odd half `(x_1, x_3)` with `(w_1, w_3)`.
    EvenOdd,
}

/// A precondition on the weight values of a kernel whose arithmetic is exact only for some
/// ranges; the frame refuses the kernel for weights that break it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightConstraint {
    /// Any value of the packed dtype.
    None,
    /// u8 data × s8 weights through a saturating int16 pair sum (x86 `vpmaddubsw`): for each
    /// pair of weights `(w0, w1)` at packed k positions `(2i, 2i+1)`,
    /// `255 · (max(w0,0) + max(w1,0)) ≤ 32767` and `255 · (min(w0,0) + min(w1,0)) ≥ −32768`.
    U8S8PairSumFitsI16,
    /// s8 data × s8 weights with two products summed in one int16 lane before widening (Arm
    /// NEON `smull` + `smlal2`, then `sadalp`): no weight may be −128. Then
    /// |x · w| ≤ 128 · 127 = 16 256 and any two products sum to at most 32 512 in magnitude,
    /// while (−128) · (−128) · 2 = 32 768 would wrap.
    S8S8PairSumFitsI16,
}

/// Arguments of one [`DepthwiseMicrokernel`] call: one output row, every channel.
///
/// `out[x][c] = epilogue(Σ_{r,s} row_r[(x · stride_w + s · dilation_w) · channels + c] ·
/// w[r][s][c])` for `x < ow`, `c < channels`. The rows are padded by the frame (horizontal
/// padding included; rows above or below the image are rows of the pad value), so the kernel
/// never tests bounds. Every row holds at least `row_len` elements, readable beyond the last
/// pixel up to the channel block (`block` elements of slack).
#[derive(Debug)]
pub struct DepthwiseArgs<'a> {
    /// `kh` pointers to padded input rows (data elements of the packed data dtype).
    pub rows: *const *const u8,
    /// Kernel height (number of rows).
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Horizontal stride, in pixels.
    pub stride_w: usize,
    /// Horizontal dilation, in pixels.
    pub dilation_w: usize,
    /// Output pixels of the row.
    pub ow: usize,
    /// Channels of a pixel (input and output), the pixel stride in elements.
    pub channels: usize,
    /// Packed weights: `kh · kw` taps × `ceil(channels / block)` blocks × `kr` sub-vectors
    /// of `block` elements; sub-vector `j` holds the weight of channel `block·b + kr·i + j`
    /// at position `kr·i + j` and zero elsewhere (see [`DepthwiseMicrokernel`]).
    pub weights: *const u8,
    /// Channel parameters in block-lane order (see [`DepthwiseMicrokernel`]).
    pub epilogue: &'a Epilogue<'a>,
    /// First element of the output row (pixel stride `channels`).
    pub out: *mut u8,
}

/// A depthwise convolution kernel (channel multiplier 1; the frame replicates input
/// channels for larger multipliers). As for [`IndirectGemmMicrokernel::packed`], a kernel
/// whose data type is the layer's own 8-bit type reads raw rows (the frame folds a data
/// offset into the per-channel constant).
///
/// Lane order: the kernel accumulates a block of `block` channels in `kr` vectors of
/// `block / kr` i32 lanes, lane `i` of vector `j` holding channel `kr·i + j` of the block
/// (a dot-product instruction over `kr` adjacent elements with one non-zero weight). The
/// frame stores channel parameters of the epilogue permuted the same way, so lane `p` of a
/// block's parameters (`p = j · block/kr + i`) belongs to channel `kr·i + j`.
///
/// When `block` is a multiple of `channels` (one block), the slots of channels
/// `c ≥ channels` hold the weights and parameters of channel `c mod channels`: with stride
/// 1 a kernel may then treat a row of pixels as one flat array of channels.
#[derive(Debug, Clone, Copy)]
pub struct DepthwiseMicrokernel {
    /// Channels per block (a multiple of `kr`).
    pub block: usize,
    /// Sub-vectors per block (see the lane order above).
    pub kr: usize,
    /// Element types the kernel reads (data, weights).
    pub packed: (DType, DType),
    /// Can this kernel run here (see [`IndirectGemmMicrokernel::probe`])?
    pub probe: fn() -> Result<(), String>,
    /// # Safety
    /// The pointers of [`DepthwiseArgs`] must be valid as described there, and the CPU must
    /// have the kernel's features.
    pub run: unsafe fn(&DepthwiseArgs<'_>),
}

/// Per-output-channel parameters of the fused epilogue of a conv/dense:
///
/// ```text
/// v   = acc + bias[k] − t3_zero_point[k] · window_sum        (exact in i32, proved at plan time)
/// out = clamp(zero_point + requantize(v, k), min, max)       (or v itself for i32 output)
/// ```
///
/// Slices start at the first channel the call covers and hold at least as many entries as
/// the kernel's tile (columns are padded to whole tiles/blocks).
#[derive(Debug, Clone, Copy)]
pub struct Epilogue<'a> {
    /// Per-channel constant: bias − T2 + T4 − the requantize input zero point.
    pub bias: &'a [i32],
    /// Per-channel weight zero point `w_k` of the T3 term, `None` when every `w_k` is 0.
    pub t3_zero_point: Option<&'a [i32]>,
    /// The multiplier of each channel.
    pub requant: RequantLanes<'a>,
    /// Output zero point (0 for i32 output).
    pub zero_point: i32,
    /// Lower clamp bound, inside the output dtype.
    pub min: i32,
    /// Upper clamp bound, inside the output dtype.
    pub max: i32,
    /// Output element type: u8, i8, or i32.
    pub out_dtype: DType,
}

/// The requantization step of an [`Epilogue`], per channel.
#[derive(Debug, Clone, Copy)]
pub enum RequantLanes<'a> {
    /// No requantization: i32 output `clamp(v, min, max)`.
    None,
    /// ONNX Runtime: `clamp(round_half_even(f32(v) · mult[k]) + f32(zero_point))`, every step
    /// in f32.
    Float {
        /// `f32(f32(s_x · s_w) / s_y)` per channel.
        mult: &'a [f32],
    },
    /// Fixed point, `round(v · q · 2^(shift − 31))` in two exact integer stages, arithmetic
    /// shifts in i64 (`|v · q| < 2^62`, so nothing overflows):
    ///
    /// ```text
    /// p = v · q
    /// t = (p + round1 − [p < 0 ∧ round1 ≠ 0 ∧ rounding = tonearest]) >> shift1
    /// u = (t + round2 − [t < 0 ∧ round2 ≠ 0 ∧ rounding = tflite]) >> shift2
    /// ```
    ///
    /// `upward` and `tonearest` round once (`shift2 = round2 = 0`); `tflite` with a negative
    /// exponent rounds twice (its high multiply, then its rounding divide by a power of two).
    Fixed {
        /// `q` per channel, as i64.
        mult: &'a [i64],
        /// First right shift per channel (0 ..= 63).
        shift1: &'a [i64],
        /// First rounding addend per channel (`2^(shift1 − 1)` or 0).
        round1: &'a [i64],
        /// Second right shift per channel (0 ..= 63; 0 when there is one stage).
        shift2: &'a [i64],
        /// Second rounding addend per channel.
        round2: &'a [i64],
        /// The rounding mode the stages implement (decides the `neg` corrections).
        rounding: FixedRounding,
    },
}

/// One tile of a packed-panel GEMM microkernel call (the first draft of the contract, kept
/// for backends written against it): `C[mr × nr] (+)= A · B` over `k` (a multiple of the
/// kernel's `kr`).
///
/// Packed layouts (the shared frame in `qnn-kernels` produces them, copying A per tile):
/// * `a`: `k / kr` blocks, each `mr` rows × `kr` consecutive k values;
/// * `b`: `k / kr` blocks, each `nr` columns × `kr` consecutive k values;
///
/// elements of the kernel entry's operand dtypes, stored little-endian.
/// `c` is row-major with `c_row_stride` i32 elements between rows.
#[derive(Debug)]
#[repr(C)]
pub struct GemmTile {
    /// Reduction length, a multiple of `kr` (0 allowed: `a`, `b` are then not read).
    pub k: usize,
    /// The packed data panel.
    pub a: *const u8,
    /// The packed weight panel.
    pub b: *const u8,
    /// First element of the i32 output tile.
    pub c: *mut i32,
    /// i32 elements between rows of `c`.
    pub c_row_stride: usize,
    /// Add to `c` instead of overwriting it.
    pub accumulate: bool,
}

/// A register-tiled GEMM microkernel on packed panels (see [`GemmTile`]). The frame runs it
/// through an im2col copy per tile and applies the epilogue itself; new kernels should be
/// [`IndirectGemmMicrokernel`]s.
#[derive(Debug, Clone, Copy)]
pub struct GemmMicrokernel {
    /// Rows (output pixels) per tile.
    pub mr: usize,
    /// Columns (output channels) per tile.
    pub nr: usize,
    /// k values packed together (4 for `vpdpbusd`/`sdot`, 2 for `vpmaddwd`, 1 for `smlal`).
    pub kr: usize,
    /// # Safety
    /// The pointers must cover the packed panels and the `mr × nr` tile described above, and
    /// the CPU must have the backend's features (the runtime calls the backend's probe first).
    pub run: unsafe fn(&GemmTile),
}

/// How a kernel is implemented.
#[derive(Debug, Clone, Copy)]
pub enum KernelImpl {
    /// A packed-panel GEMM tile (conv via a per-tile im2col copy, dense).
    Gemm(GemmMicrokernel),
    /// Convolution (any groups, stride, dilation, padding) and dense layers through an
    /// indirect GEMM with a fused epilogue.
    IndirectGemm(IndirectGemmMicrokernel),
    /// Depthwise convolution.
    Depthwise(DepthwiseMicrokernel),
    /// Max / average / sum pooling windows on NHWC data.
    Pool(PoolMicrokernel),
    /// An element-wise op on contiguous runs.
    Elementwise(ElementwiseMicrokernel),
    /// A blocked transpose, optionally quantizing or dequantizing (the graph's edges).
    Transpose(TransposeMicrokernel),
}

/// A kernel a backend registers with `inventory::submit!`.
#[derive(Debug, Clone, Copy)]
pub struct KernelEntry {
    /// Must equal [`BACKEND_ABI_VERSION`](super::BACKEND_ABI_VERSION).
    pub abi_version: u32,
    /// Name of the backend descriptor this kernel belongs to.
    pub backend: &'static str,
    /// ISA, op, dtypes, tile: `vnni_gemm_u8s8_6x64`.
    pub name: &'static str,
    /// The class a cost model files it under.
    pub class: KernelClass,
    /// Operand dtypes of the layers it computes (data, weight). A kernel for i16 data also
    /// takes u8/i8 data, which the frame widens (applying the layer's data offset). For the
    /// kernels around convolutions (pooling, element-wise, transpose): (input, output).
    pub operands: (DType, DType),
    /// The microkernel.
    pub imp: KernelImpl,
}

impl KernelEntry {
    /// The kernel's own probe (its ISA variant's CPU features), if it has one; the backend
    /// descriptor's probe applies in addition.
    pub fn probe(&self) -> Result<(), String> {
        match &self.imp {
            KernelImpl::Gemm(_) => Ok(()),
            KernelImpl::IndirectGemm(k) => (k.probe)(),
            KernelImpl::Depthwise(k) => (k.probe)(),
            KernelImpl::Pool(k) => (k.probe)(),
            KernelImpl::Elementwise(k) => (k.probe)(),
            KernelImpl::Transpose(k) => (k.probe)(),
        }
    }
}

inventory::collect!(KernelEntry);
