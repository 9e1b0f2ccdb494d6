//! AVX2 indirect GEMM on 8-bit data read in place, widened in registers: `vpmaddwd` on
//! the even and the odd bytes of a broadcast.
//!
//! Tile `MR × 8·NV`, `kr = 4`, panel layout
//! [`PanelLayout::EvenOdd`](qnn_ir::backend::PanelLayout::EvenOdd): per block of 4 k, the
//! weights `(w_0, w_2)` of the tile's columns (`NV` vectors of 8 columns × 2 i16), then
//! `(w_1, w_3)`. Per row, the 4 data bytes are broadcast as a dword and split into its even
//! bytes (`vpand`) and its odd bytes (`vpsrlw`), each zero-extended into 16-bit lanes (for
//! s8 data: sign-extended by shifts); `vpmaddwd` of the even half with the even weights
//! gives `x_0·w_0 + x_2·w_2` per column, the odd half the rest. Two ALU instructions per row
//! and 4 k replace the frame's widened copy of the input (a pass over it that writes twice
//! its bytes, and a copy the kernel reads again): measured on one Zen 3 core (L1-resident
//! loop), this 4×16 tile runs at 90 % of the `vpmaddwd` rate of the i16 kernel on
//! pre-widened data (71 vs 79 GMAC/s); a `vpshufb` per k pair instead of the split reaches
//! 57, the 6-row tile with weights as memory operands 67 (two loads per `vpmaddwd`), a
//! 3×12 tile on the interleaved `kr = 4` layout (`vpunpcklbw` with zero, horizontal adds at
//! the end) 68. Registers: 8 accumulators, 4 weights, the broadcast, its even half and the
//! byte mask. The 4×24 tile (12 accumulators, the weights as memory operands: 64 GMAC/s in
//! the same loop) is for layers with 24·k output channels: MobileNetV2's 96 → 24 and
//! 144 → 24 projections take 0.129 and 0.179 ms on it against 0.175 and 0.242 on 4×16
//! (whose second tile is half padding).
//!
//! The frame passes raw data values for both lowerings (see
//! [`IndirectGemmMicrokernel::packed`](qnn_ir::backend::IndirectGemmMicrokernel)): the
//! int16 lowering's `− a` is folded into the per-channel constant, so the same kernel runs
//! `(x − a) · (w − w_k)` (i16 weights) and the int8 lowering's `x · w` (s8 weights widened
//! to i16 at packing).
//!
//! Range: `|x| ≤ 255` and `|w| ≤ 2^15`, so each `vpmaddwd` pair sum (≤ 2^24) is exact and
//! the wrapping i32 accumulation is exact mod 2^32; the frame proved the final value fits.
//!
//! `gemm_u8_s8w` is the dense-layer variant (one row, many columns): each weight is used
//! once per call, so the kernel streams s8 weights (half the bytes of i16) and widens them
//! with `vpmovsxbw`, for layers whose weights fit s8 (the int8 lowering, and the int16
//! lowering of symmetric weights).

// Tile code indexes rows and columns by their coordinates.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use qnn_ir::backend::{Epilogue, IndirectGemmArgs, RequantLanes, TileOutput};
use qnn_kernels::x86::ymm::{NarrowF32, finish4, requant_f32, store_tile};

/// The even and the odd bytes of each 16-bit lane of `d`, extended to 16 bits (zero for
/// u8 data, sign for s8).
#[inline(always)]
fn split<const SIGNED: bool>(d: __m256i, mask: __m256i) -> (__m256i, __m256i) {
    // SAFETY: register operations; the kernels that inline this enable AVX2.
    unsafe {
        if SIGNED {
            (_mm256_srai_epi16(_mm256_slli_epi16(d, 8), 8), _mm256_srai_epi16(d, 8))
        } else {
            (_mm256_and_si256(d, mask), _mm256_srli_epi16(d, 8))
        }
    }
}

/// One tile of `MR` rows × `NR = 8 · NV` columns, i16 weights in registers.
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kr = 4`, the even/odd layout, 8-bit data (s8
/// when `SIGNED`, else u8) and i16 weights, and a CPU with AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn gemm_u8<const MR: usize, const NV: usize, const NR: usize, const SIGNED: bool>(
    args: &IndirectGemmArgs<'_>,
) {
    let out = Strip::new(args);
    let mask = _mm256_set1_epi16(0xff);
    for s in 0..args.tiles {
        let mut acc = out.bias::<MR, NV>(s);
        // SAFETY: tile s's panel.
        let mut b = unsafe { args.b.add(s * args.panel_stride) }.cast::<__m256i>();
        for t in 0..args.taps {
            // SAFETY: `a` holds taps × MR row pointers.
            let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
            let mut k = 0;
            while k < args.kc {
                let mut even = [_mm256_setzero_si256(); NV];
                let mut odd = [_mm256_setzero_si256(); NV];
                for j in 0..NV {
                    // SAFETY: the panel holds taps · kc / 4 blocks of 2·NV vectors.
                    unsafe {
                        even[j] = _mm256_loadu_si256(b.add(j));
                        odd[j] = _mm256_loadu_si256(b.add(NV + j));
                    }
                }
                for i in 0..MR {
                    // SAFETY: each row holds kc ≥ k + 4 bytes.
                    let d = unsafe { rows[i].add(k).cast::<i32>().read_unaligned() };
                    let (e, o) = split::<SIGNED>(_mm256_set1_epi32(d), mask);
                    for j in 0..NV {
                        acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(e, even[j]));
                        acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(o, odd[j]));
                    }
                }
                // SAFETY: the next block of the panel.
                b = unsafe { b.add(2 * NV) };
                k += 4;
            }
        }
        // A copy for the epilogue: its dynamically indexed stores would otherwise keep
        // `acc` itself in memory, stored after every update of the loop above.
        let acc = std::hint::black_box(acc);
        // SAFETY: the output follows the contract; AVX2 is enabled here.
        unsafe { out.store::<MR, NV, NR>(acc, s) };
    }
}

/// One row × `NR = 8 · NV` columns with s8 weights streamed from the panel and widened in
/// registers (`vpmovsxbw`): the even/odd halves of a block are `NV` × 16 bytes each.
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kr = 4`, the even/odd layout, 8-bit data (s8
/// when `SIGNED`, else u8), s8 weights and `MR = 1`, and a CPU with AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn gemm_u8_s8w<const NV: usize, const NR: usize, const SIGNED: bool>(
    args: &IndirectGemmArgs<'_>,
) {
    let out = Strip::new(args);
    let mask = _mm256_set1_epi16(0xff);
    for s in 0..args.tiles {
        let mut acc = out.bias::<1, NV>(s);
        // SAFETY: tile s's panel.
        let mut b = unsafe { args.b.add(s * args.panel_stride) }.cast::<__m128i>();
        for t in 0..args.taps {
            // SAFETY: `a` holds taps × 1 row pointers.
            let row = unsafe { *args.a.add(t) };
            let mut k = 0;
            while k < args.kc {
                // SAFETY: the row holds kc ≥ k + 4 bytes.
                let d = unsafe { row.add(k).cast::<i32>().read_unaligned() };
                let (e, o) = split::<SIGNED>(_mm256_set1_epi32(d), mask);
                for j in 0..NV {
                    // SAFETY: the panel holds taps · kc / 4 blocks of 2·NV × 16 bytes.
                    let (we, wo) = unsafe {
                        (
                            _mm256_cvtepi8_epi16(_mm_loadu_si128(b.add(j))),
                            _mm256_cvtepi8_epi16(_mm_loadu_si128(b.add(NV + j))),
                        )
                    };
                    acc[0][j] = _mm256_add_epi32(acc[0][j], _mm256_madd_epi16(e, we));
                    acc[0][j] = _mm256_add_epi32(acc[0][j], _mm256_madd_epi16(o, wo));
                }
                // SAFETY: the next block of the panel.
                b = unsafe { b.add(2 * NV) };
                k += 4;
            }
        }
        let acc = std::hint::black_box(acc);
        // SAFETY: the output follows the contract; AVX2 is enabled here.
        unsafe { out.store::<1, NV, NR>(acc, s) };
    }
}

/// The output side of a call: where tile `s` of the strip goes, and the f32 requantize's
/// parameters, made once per call.
pub(crate) struct Strip<'a> {
    args: &'a IndirectGemmArgs<'a>,
    fast: Option<NarrowF32>,
}

impl<'a> Strip<'a> {
    /// # Safety
    /// A CPU with AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn new(args: &'a IndirectGemmArgs<'a>) -> Self {
        let fast = match args.out {
            TileOutput::Fused { epilogue, .. } => NarrowF32::new(epilogue),
            TileOutput::Raw { .. } => None,
        };
        Strip { args, fast }
    }

    /// Accumulators of tile `s` starting at the fused epilogue's per-column constant (one
    /// addition fewer per output), or at zero for raw output.
    ///
    /// # Safety
    /// A CPU with AVX2; `s < tiles`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn bias<const MR: usize, const NV: usize>(&self, s: usize) -> [[__m256i; NV]; MR] {
        let mut acc = [[_mm256_setzero_si256(); NV]; MR];
        if let TileOutput::Fused { epilogue, .. } = self.args.out {
            for j in 0..NV {
                let bias = &epilogue.bias[s * 8 * NV + 8 * j..][..8];
                // SAFETY: 8 i32 of the padded parameter array.
                let v = unsafe { _mm256_loadu_si256(bias.as_ptr().cast()) };
                for row in acc.iter_mut() {
                    row[j] = v;
                }
            }
        }
        acc
    }

    /// Writes tile `s`: ONNX Runtime's f32 requantize to u8/i8 in registers
    /// ([`NarrowF32`]), everything else (raw i32, fixed point, i32 output) through the
    /// shared [`store_tile`].
    ///
    /// # Safety
    /// The output pointers of the arguments follow the contract; `s < tiles`; AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn store<const MR: usize, const NV: usize, const NR: usize>(
        &self,
        mut acc: [[__m256i; NV]; MR],
        s: usize,
    ) {
        let args = self.args;
        let col0 = s * NR;
        let n = (args.n - col0).min(NR);
        let (Some(p), TileOutput::Fused { epilogue: e, row_sums, out, row_stride }) =
            (&self.fast, &args.out)
        else {
            let shifted;
            let out = match args.out {
                TileOutput::Raw { c, row_stride } => {
                    // SAFETY: column col0 < n of every row of the output.
                    let c = unsafe { c.add(col0) };
                    TileOutput::Raw { c, row_stride }
                }
                TileOutput::Fused { epilogue, row_sums, out, row_stride } => {
                    shifted = from_column(epilogue, col0);
                    let size = epilogue.out_dtype.size_bytes();
                    // SAFETY: as above.
                    let out = unsafe { out.add(col0 * size) };
                    TileOutput::Fused { epilogue: &shifted, row_sums, out, row_stride }
                }
            };
            let tile = IndirectGemmArgs { tiles: 1, n, out, ..*args };
            // SAFETY: the caller's contract, for this tile.
            return unsafe { store_tile::<MR, NV, NR>(acc, &tile) };
        };
        let RequantLanes::Float { mult } = e.requant else { unreachable!("NarrowF32 is f32") };
        let mult = &mult[col0..];
        if let (Some(t3), Some(sums)) = (e.t3_zero_point, row_sums) {
            for j in 0..NV {
                // SAFETY: 8 i32 of the padded parameter array.
                let z = unsafe { _mm256_loadu_si256(t3[col0 + 8 * j..][..8].as_ptr().cast()) };
                for i in 0..MR {
                    // Rows ≥ m are not written; their sum is any valid one.
                    let s = _mm256_set1_epi32(sums[i.min(args.m - 1)]);
                    acc[i][j] = _mm256_sub_epi32(acc[i][j], _mm256_mullo_epi32(z, s));
                }
            }
        }
        let mut r = [[_mm256_setzero_si256(); NV]; MR];
        for j in 0..NV {
            // SAFETY: 8 f32 of the padded parameter array.
            let m = unsafe { _mm256_loadu_ps(mult[8 * j..][..8].as_ptr()) };
            for i in 0..MR {
                r[i][j] = requant_f32(acc[i][j], m);
            }
        }
        // SAFETY: column col0 < n of every row of the output.
        let out = unsafe { out.add(col0) };
        let full = args.m == MR && n == NR;
        // Registers in row-major order, 4 at a time: 32 output bytes.
        let regs = MR * NV;
        for g in (0..regs).step_by(4) {
            let four: [__m256i; 4] = std::array::from_fn(|q| {
                let x = (g + q).min(regs - 1);
                r[x / NV][x % NV]
            });
            let bytes = finish4(four, p);
            for q in 0..4.min(regs - g) {
                let (i, j) = ((g + q) / NV, (g + q) % NV);
                if i >= args.m || 8 * j >= n {
                    continue;
                }
                // SAFETY: row i < m of the output tile holds n ≥ 8·j + 1 bytes from
                // `out + i · row_stride`; full tiles write whole groups of 8.
                unsafe {
                    let dst = out.add(i * row_stride + 8 * j);
                    let lane: [u8; 32] = std::mem::transmute(bytes);
                    if full || n >= 8 * j + 8 {
                        dst.cast::<[u8; 8]>()
                            .write_unaligned(lane[8 * q..][..8].try_into().unwrap());
                    } else {
                        std::ptr::copy_nonoverlapping(lane[8 * q..].as_ptr(), dst, n - 8 * j);
                    }
                }
            }
        }
    }
}

/// The parameters of `e` from channel slot `at` on.
fn from_column<'e>(e: &Epilogue<'e>, at: usize) -> Epilogue<'e> {
    let requant = match e.requant {
        RequantLanes::None => RequantLanes::None,
        RequantLanes::Float { mult } => RequantLanes::Float { mult: &mult[at..] },
        RequantLanes::Fixed { mult, shift1, round1, shift2, round2, rounding } => {
            RequantLanes::Fixed {
                mult: &mult[at..],
                shift1: &shift1[at..],
                round1: &round1[at..],
                shift2: &shift2[at..],
                round2: &round2[at..],
                rounding,
            }
        }
    };
    Epilogue {
        bias: &e.bias[at..],
        t3_zero_point: e.t3_zero_point.map(|t| &t[at..]),
        requant,
        ..*e
    }
}
