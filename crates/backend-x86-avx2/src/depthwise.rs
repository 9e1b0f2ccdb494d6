//! AVX2 depthwise convolution on `vpmaddwd`, 16 i16 channels per ymm.
//!
//! `vpmaddwd` sums 2 adjacent i16 products; with weights that keep one element in two
//! (sub-vector `j` holds channel `2i + j`'s weight at element `2i + j`, zero elsewhere),
//! `vpmaddwd(data, w_j)` is exactly channel `2i + j`'s product in lane `i`: two
//! instructions per 16 channels and tap, on data loaded straight from the (i16) row. The
//! epilogue parameters come in the same lane order (block 16, `kr` 2) and the results are
//! packed back: byte `2i + j` of the output is lane `i` of `acc_j`. With stride 1 and a
//! channel count dividing 16, the row is processed as one flat array (see the VNNI kernel).
//!
//! Range: one product per lane and tap (|d·w| ≤ 2^30 for i16), exact in wrapping i32 under
//! the frame's accumulator-range proof. The int8 path arrives here widened to i16.

use std::arch::x86_64::*;

use qnn_ir::DType;
use qnn_ir::backend::{DepthwiseArgs, Epilogue};
use qnn_kernels::x86::ymm::{lanes, requant_lanes};

/// Channels per block.
pub const BLOCK: usize = 16;

/// # Safety
/// The [`DepthwiseArgs`] contract for block 16, `kr` 2, i16 operands, on a CPU with AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn depthwise_i16(args: &DepthwiseArgs<'_>) {
    let c = args.channels;
    let blocks = c.div_ceil(BLOCK);
    let e = args.epilogue;
    let size = e.out_dtype.size_bytes();
    // SAFETY: `rows` holds kh pointers.
    let rows = unsafe { std::slice::from_raw_parts(args.rows, args.kh) };
    let tap_step = args.dilation_w * c;
    let w = args.weights.cast::<__m256i>();
    if args.stride_w == 1 && BLOCK.is_multiple_of(c) {
        let total = args.ow * c;
        for f in (0..total).step_by(BLOCK) {
            let n = (total - f).min(BLOCK);
            // SAFETY: flat chunks stay within the rows' slack; output clipped to the row.
            unsafe { block(rows, args.kw, tap_step, f, w, 1, 0, e, args.out.add(f * size), n) };
        }
    } else {
        for x in 0..args.ow {
            for b in 0..blocks {
                let base = x * args.stride_w * c + b * BLOCK;
                let out = args.out.wrapping_add((x * c + b * BLOCK) * size);
                let n = (c - b * BLOCK).min(BLOCK);
                // SAFETY: block b of pixel x; the last block reads into the slack, its output
                // is clipped to the channels.
                unsafe { block(rows, args.kw, tap_step, base, w, blocks, b, e, out, n) };
            }
        }
    }
}

/// One block of 16 channels (or flat elements) at element `base` of every row.
///
/// # Safety
/// Rows readable at elements `base + s·tap_step .. + 16`, weights packed for `blocks`
/// blocks, `out` valid for `n` elements.
#[inline]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn block(
    rows: &[*const u8],
    kw: usize,
    tap_step: usize,
    base: usize,
    w: *const __m256i,
    blocks: usize,
    b: usize,
    e: &Epilogue<'_>,
    out: *mut u8,
    n: usize,
) {
    // Accumulators start at the per-channel constant (the epilogue's bias), in lane order.
    let mut acc = [_mm256_setzero_si256(); 2];
    for (j, a) in acc.iter_mut().enumerate() {
        let bias = &e.bias[b * BLOCK + 8 * j..][..8];
        // SAFETY: 8 i32 of the padded parameter array.
        *a = unsafe { _mm256_loadu_si256(bias.as_ptr().cast()) };
    }
    let mut sums = [_mm256_setzero_si256(); 2];
    let t3 = e.t3_zero_point.is_some();
    for (r, &row) in rows.iter().enumerate() {
        for s in 0..kw {
            let t = r * kw + s;
            // SAFETY: 16 i16 elements readable (the caller's guarantee).
            let d = unsafe { _mm256_loadu_si256(row.add(2 * (base + s * tap_step)).cast()) };
            for (j, a) in acc.iter_mut().enumerate() {
                // SAFETY: weights hold taps × blocks × 2 vectors.
                let wj = unsafe { _mm256_loadu_si256(w.add((t * blocks + b) * 2 + j)) };
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(d, wj));
            }
            if t3 {
                // Window sums: weight 1 in element j of every pair.
                sums[0] = _mm256_add_epi32(sums[0], _mm256_madd_epi16(d, _mm256_set1_epi32(1)));
                sums[1] =
                    _mm256_add_epi32(sums[1], _mm256_madd_epi16(d, _mm256_set1_epi32(1 << 16)));
            }
        }
    }
    let window = if t3 { Some(&sums) } else { None };
    let r = requant_lanes::<2, 16>(&acc, e, b * BLOCK, window);
    // SAFETY: `out` valid for n ≤ 16 elements.
    unsafe { store_channels(&r, e.out_dtype, out, n) };
}

/// Stores lane-ordered results in channel order: channel `2i + j` is lane `i` of `r[j]`.
///
/// # Safety
/// `out` valid for `n ≤ 16` elements of `dtype`; AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn store_channels(r: &[__m256i; 2], dtype: DType, out: *mut u8, n: usize) {
    // SAFETY: the caller's pointer and CPU features; partial stores go through a copy.
    unsafe {
        if dtype == DType::I32 {
            let l = r.map(lanes);
            let mut v = [0i32; 16];
            for (c, x) in v.iter_mut().enumerate() {
                *x = l[c % 2][c / 2];
            }
            std::ptr::copy_nonoverlapping(v.as_ptr().cast::<u8>(), out, 4 * n);
            return;
        }
        // Values are clamped to u8 or i8: the low bytes of the pair (2i, 2i + 1) form a
        // 16-bit value ≤ 65535 in lane i, which the unsigned pack keeps exactly.
        let low = _mm256_set1_epi32(0xff);
        let t = _mm256_or_si256(
            _mm256_and_si256(r[0], low),
            _mm256_slli_epi32(_mm256_and_si256(r[1], low), 8),
        );
        let words = _mm256_packus_epi32(t, t);
        let bytes = _mm256_permute4x64_epi64(words, 0b10_00);
        let lo = _mm256_castsi256_si128(bytes);
        if n == 16 {
            _mm_storeu_si128(out.cast(), lo);
        } else {
            let a: [u8; 16] = std::mem::transmute(lo);
            std::ptr::copy_nonoverlapping(a.as_ptr(), out, n);
        }
    }
}
