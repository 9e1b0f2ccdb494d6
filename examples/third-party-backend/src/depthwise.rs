//! SSE depthwise convolution on `pmaddwd`, 8 i16 channels per xmm.
//!
//! `pmaddwd` sums 2 adjacent i16 products; with weights that keep one element in two
//! (sub-vector `j` holds channel `2i + j`'s weight at element `2i + j`, zero elsewhere),
//! `pmaddwd(data, w_j)` is exactly channel `2i + j`'s product in lane `i`: two
//! instructions per 8 channels and tap, on data loaded straight from the (i16) row. The
//! epilogue's parameters come in the same lane order (block 8, `kr` 2); results are stored
//! back in channel order.
//!
//! Range: one product per lane and tap (|d·w| ≤ 2^30 for i16), exact in wrapping i32 under
//! the frame's accumulator-range proof. The int8 path arrives here widened to i16.

use std::arch::x86_64::*;

use qnn_ir::backend::{DepthwiseArgs, Epilogue};
use qnn_kernels::epilogue::lanes;

/// Channels per block.
pub const BLOCK: usize = 8;

/// # Safety
/// The [`DepthwiseArgs`] contract for block 8, `kr` 2, i16 operands, on a CPU with SSE4.1.
#[target_feature(enable = "sse4.1,ssse3")]
pub unsafe fn depthwise_i16(args: &DepthwiseArgs<'_>) {
    let c = args.channels;
    let blocks = c.div_ceil(BLOCK);
    let size = args.epilogue.out_dtype.size_bytes();
    // SAFETY: `rows` holds kh pointers.
    let rows = unsafe { std::slice::from_raw_parts(args.rows, args.kh) };
    let w = args.weights.cast::<__m128i>();
    for x in 0..args.ow {
        for b in 0..blocks {
            let base = x * args.stride_w * c + b * BLOCK;
            let out = args.out.wrapping_add((x * c + b * BLOCK) * size);
            let n = (c - b * BLOCK).min(BLOCK);
            // SAFETY: block b of pixel x; the last block reads into the rows' slack (a block
            // of elements), its output is clipped to the channels.
            unsafe { block(args, rows, base, w, blocks, b, out, n) };
        }
    }
}

/// One block of 8 channels at element `base` of every row.
///
/// # Safety
/// Rows readable at elements `base + s·dilation_w·channels .. + 8`, weights packed for
/// `blocks` blocks, `out` valid for `n` elements.
#[inline]
#[target_feature(enable = "sse4.1,ssse3")]
#[allow(clippy::too_many_arguments)]
unsafe fn block(
    args: &DepthwiseArgs<'_>,
    rows: &[*const u8],
    base: usize,
    w: *const __m128i,
    blocks: usize,
    b: usize,
    out: *mut u8,
    n: usize,
) {
    let e: &Epilogue<'_> = args.epilogue;
    let tap_step = args.dilation_w * args.channels;
    let mut acc = [_mm_setzero_si128(); 2];
    let mut sums = [_mm_setzero_si128(); 2];
    let t3 = e.t3_zero_point.is_some();
    for (r, &row) in rows.iter().enumerate() {
        for s in 0..args.kw {
            let t = r * args.kw + s;
            // SAFETY: 8 i16 elements readable (the caller's guarantee).
            let d = unsafe { _mm_loadu_si128(row.add(2 * (base + s * tap_step)).cast()) };
            for (j, a) in acc.iter_mut().enumerate() {
                // SAFETY: weights hold taps × blocks × 2 vectors.
                let wj = unsafe { _mm_loadu_si128(w.add((t * blocks + b) * 2 + j)) };
                *a = _mm_add_epi32(*a, _mm_madd_epi16(d, wj));
            }
            if t3 {
                // Window sums: weight 1 in element j of every pair.
                sums[0] = _mm_add_epi32(sums[0], _mm_madd_epi16(d, _mm_set1_epi32(1)));
                sums[1] = _mm_add_epi32(sums[1], _mm_madd_epi16(d, _mm_set1_epi32(1 << 16)));
            }
        }
    }
    // Lane p = 4·j + i holds channel 2i + j (the epilogue's parameter order).
    let flat = |v: &[__m128i; 2]| -> [i32; BLOCK] {
        // SAFETY: two __m128i are exactly 8 plain i32.
        unsafe { std::mem::transmute_copy(v) }
    };
    let mut v = lanes::add_bias(&flat(&acc), e, b * BLOCK);
    if let Some(t3z) = e.t3_zero_point {
        lanes::sub_t3_lanes(&mut v, t3z, b * BLOCK, &flat(&sums));
    }
    let o = lanes::requantize(&v, e, b * BLOCK);
    let mut ordered = [0i32; BLOCK];
    for (p, val) in o.iter().enumerate() {
        ordered[2 * (p % 4) + p / 4] = *val;
    }
    // SAFETY: `out` is valid for n ≤ 8 elements of the output dtype.
    unsafe { lanes::store(&ordered, n, e.out_dtype, out) };
}
