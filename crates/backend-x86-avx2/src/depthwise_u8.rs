//! AVX2 depthwise convolution on 8-bit rows read in place, widened in registers.
//!
//! The lane order of [`depthwise`](crate::depthwise) (block 16, `kr` 2: lane `i` of
//! accumulator `j` holds channel `2i + j`), with the data widened as it is loaded:
//! `vpmovzxbw` (`vpmovsxbw` for s8) turns 16 bytes of a row into 16 i16 lanes, and
//! `vpmaddwd` with a weight vector that keeps one element in two is exactly one channel's
//! product per i32 lane. Per tap and 16 channels: one widening load and two `vpmaddwd` +
//! `vpaddd`, no converted copy of the input rows (the frame passes them raw, or reads the
//! input in place, and folds the int16 lowering's `− a` into the per-channel constant).
//!
//! The f32 requantize to u8/i8 runs in registers ([`NarrowF32`]) on two blocks at a time
//! and puts the bytes back in channel order with one `vpshufb`; every other epilogue goes
//! through the generic lane code.
//!
//! Range: one product per lane and tap (`|x| ≤ 255`, `|w| ≤ 2^15`), exact in wrapping i32
//! under the frame's accumulator-range proof.

use std::arch::x86_64::*;

use qnn_ir::backend::{DepthwiseArgs, Epilogue, RequantLanes};
use qnn_kernels::x86::ymm::{NarrowF32, finish4, requant_f32, requant_lanes};

use crate::depthwise::store_channels;

/// Channels per block.
pub const BLOCK: usize = 16;

/// # Safety
/// The [`DepthwiseArgs`] contract for block 16, `kr` 2, 8-bit data (s8 when `SIGNED`, else
/// u8) and i16 weights, on a CPU with AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn depthwise_u8<const SIGNED: bool>(args: &DepthwiseArgs<'_>) {
    // SAFETY: the caller's contract; the sizes match the arguments.
    unsafe {
        match (args.epilogue.t3_zero_point.is_some(), args.kh, args.kw) {
            (false, 3, 3) => rows::<SIGNED, false, 3, 3>(args),
            (false, 5, 5) => rows::<SIGNED, false, 5, 5>(args),
            (false, ..) => rows::<SIGNED, false, 0, 0>(args),
            (true, 3, 3) => rows::<SIGNED, true, 3, 3>(args),
            (true, ..) => rows::<SIGNED, true, 0, 0>(args),
        }
    }
}

/// The kernel for `KH × KW` taps (0: the sizes of `args`).
///
/// # Safety
/// As [`depthwise_u8`]; `KH`, `KW` are 0 or the sizes of `args`.
#[target_feature(enable = "avx2")]
unsafe fn rows<const SIGNED: bool, const T3: bool, const KH: usize, const KW: usize>(
    args: &DepthwiseArgs<'_>,
) {
    let c = args.channels;
    let blocks = c.div_ceil(BLOCK);
    let e = args.epilogue;
    let size = e.out_dtype.size_bytes();
    // SAFETY: `rows` holds kh pointers.
    let rows = unsafe { std::slice::from_raw_parts(args.rows, args.kh) };
    let fast = NarrowF32::new(e);
    let k = Kernel { rows, kw: args.kw, tap_step: args.dilation_w * c, w: args.weights.cast() };
    if args.stride_w == 1 && BLOCK.is_multiple_of(c) {
        // A row of pixels as one flat array of channels (the parameters repeat per block).
        let total = args.ow * c;
        for f in (0..total).step_by(BLOCK) {
            let n = (total - f).min(BLOCK);
            // SAFETY: flat chunks stay within the rows' slack; output clipped to the row.
            unsafe {
                let acc = k.block::<SIGNED, T3, KH, KW>(f, 1, 0, e);
                finish::<1>(&[acc], e, fast.as_ref(), 0, args.out.add(f * size), n);
            }
        }
        return;
    }
    for x in 0..args.ow {
        let base = x * args.stride_w * c;
        let out = args.out.wrapping_add(x * c * size);
        let mut b = 0;
        // Two blocks at a time: the narrowing packs four registers.
        while b + 2 <= blocks {
            // SAFETY: blocks b and b + 1 of pixel x; the last one may read into the slack,
            // its output is clipped to the channels.
            unsafe {
                let a0 = k.block::<SIGNED, T3, KH, KW>(base + b * BLOCK, blocks, b, e);
                let a1 = k.block::<SIGNED, T3, KH, KW>(base + (b + 1) * BLOCK, blocks, b + 1, e);
                let n = (c - b * BLOCK).min(2 * BLOCK);
                finish::<2>(&[a0, a1], e, fast.as_ref(), b, out.add(b * BLOCK * size), n);
            }
            b += 2;
        }
        if b < blocks {
            // SAFETY: as above, one block.
            unsafe {
                let a0 = k.block::<SIGNED, T3, KH, KW>(base + b * BLOCK, blocks, b, e);
                let n = c - b * BLOCK;
                finish::<1>(&[a0], e, fast.as_ref(), b, out.add(b * BLOCK * size), n);
            }
        }
    }
}

/// The rows and weights of one call.
struct Kernel<'a> {
    rows: &'a [*const u8],
    kw: usize,
    /// Elements between two horizontal taps.
    tap_step: usize,
    w: *const __m256i,
}

/// One block's accumulators (lane order), bias added, and its window sums when the
/// epilogue has a T3 term.
type Acc = ([__m256i; 2], [__m256i; 2]);

impl Kernel<'_> {
    /// The accumulators of 16 channels (or flat elements) at element `base` of every row,
    /// block `b` of `blocks` for the weights and parameters.
    ///
    /// # Safety
    /// Rows readable at elements `base + s·tap_step .. + 16`, weights packed for `blocks`
    /// blocks; AVX2 (always inlined into the kernel, which enables it).
    #[inline(always)]
    unsafe fn block<const SIGNED: bool, const T3: bool, const KH: usize, const KW: usize>(
        &self,
        base: usize,
        blocks: usize,
        b: usize,
        e: &Epilogue<'_>,
    ) -> Acc {
        // SAFETY: the caller's pointers; AVX2 is enabled in the kernel this is inlined into.
        unsafe {
            let mut acc = [_mm256_setzero_si256(); 2];
            for (j, a) in acc.iter_mut().enumerate() {
                let bias = &e.bias[b * BLOCK + 8 * j..][..8];
                // 8 i32 of the padded parameter array.
                *a = _mm256_loadu_si256(bias.as_ptr().cast());
            }
            let mut sums = [_mm256_setzero_si256(); 2];
            // Constant kernel sizes unroll the taps (no loop overhead per 5 instructions).
            let (kh, kw) = if KH > 0 { (KH, KW) } else { (self.rows.len(), self.kw) };
            // Tap t of block b: vectors (t · blocks + b) · 2 + j.
            let mut w = self.w.add(b * 2);
            let step = blocks * 2;
            for r in 0..kh {
                let row = self.rows.get_unchecked(r).add(base);
                for s in 0..kw {
                    // 16 bytes readable (the caller's guarantee).
                    let bytes = _mm_loadu_si128(row.add(s * self.tap_step).cast());
                    let d = if SIGNED {
                        _mm256_cvtepi8_epi16(bytes)
                    } else {
                        _mm256_cvtepu8_epi16(bytes)
                    };
                    acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(d, _mm256_loadu_si256(w)));
                    acc[1] = _mm256_add_epi32(
                        acc[1],
                        _mm256_madd_epi16(d, _mm256_loadu_si256(w.add(1))),
                    );
                    if T3 {
                        // Window sums: weight 1 in element j of every pair.
                        let one = _mm256_set1_epi32(1);
                        sums[0] = _mm256_add_epi32(sums[0], _mm256_madd_epi16(d, one));
                        sums[1] = _mm256_add_epi32(
                            sums[1],
                            _mm256_madd_epi16(d, _mm256_slli_epi32(one, 16)),
                        );
                    }
                    w = w.add(step);
                }
            }
            (acc, sums)
        }
    }
}

/// The epilogue of `B` blocks (block `b0` onwards) written in channel order: `n` channels
/// at `out`.
///
/// # Safety
/// `out` valid for `n ≤ 16·B` elements of the output dtype; `fast` made from `e`; AVX2
/// (always inlined into the kernel, which enables it).
#[inline(always)]
unsafe fn finish<const B: usize>(
    acc: &[Acc; B],
    e: &Epilogue<'_>,
    fast: Option<&NarrowF32>,
    b0: usize,
    out: *mut u8,
    n: usize,
) {
    // SAFETY: the caller's pointers; AVX2 is enabled in the kernel this is inlined into.
    unsafe {
        let (Some(p), RequantLanes::Float { mult }) = (fast, e.requant) else {
            for (q, (a, sums)) in acc.iter().enumerate() {
                let window = e.t3_zero_point.map(|_| sums);
                let at = (b0 + q) * BLOCK;
                let r = requant_lanes::<2, 16>(a, e, at, window);
                let left = n.saturating_sub(q * BLOCK).min(BLOCK);
                if left > 0 {
                    // The block's first `left` channels of the output.
                    store_channels(
                        &r,
                        e.out_dtype,
                        out.add(q * BLOCK * e.out_dtype.size_bytes()),
                        left,
                    );
                }
            }
            return;
        };
        let mut r = [_mm256_setzero_si256(); 4];
        for (q, (a, sums)) in acc.iter().enumerate() {
            for j in 0..2 {
                let at = (b0 + q) * BLOCK + 8 * j;
                let mut v = a[j];
                if let Some(t3) = e.t3_zero_point {
                    // 8 i32 of the padded parameter array.
                    let z = _mm256_loadu_si256(t3[at..][..8].as_ptr().cast());
                    v = _mm256_sub_epi32(v, _mm256_mullo_epi32(z, sums[j]));
                }
                // 8 f32 of the padded parameter array.
                let m = _mm256_loadu_ps(mult[at..][..8].as_ptr());
                r[2 * q + j] = requant_f32(v, m);
            }
        }
        // Bytes 16q..16q+8 hold block q's even channels, 16q+8.. its odd ones: interleave.
        let bytes = finish4(r, p);
        let order = _mm256_setr_epi8(
            0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12,
            5, 13, 6, 14, 7, 15,
        );
        let bytes = _mm256_shuffle_epi8(bytes, order);
        // `out` is valid for n ≤ 16·B bytes.
        if n == 32 {
            _mm256_storeu_si256(out.cast(), bytes);
        } else if n == 16 {
            _mm_storeu_si128(out.cast(), _mm256_castsi256_si128(bytes));
        } else {
            let a: [u8; 32] = std::mem::transmute(bytes);
            std::ptr::copy_nonoverlapping(a.as_ptr(), out, n);
        }
    }
}
