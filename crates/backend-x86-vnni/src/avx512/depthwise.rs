//! AVX-512 VNNI depthwise convolution, 64 channels per zmm.
//!
//! Depthwise has no reduction over channels, but `vpdpbusd` sums 4 adjacent bytes. With
//! weights that keep one byte in four (sub-vector `j` holds the weight of channel `4i + j`
//! in byte `4i + j`, zero elsewhere), `vpdpbusd(acc_j, data, w_j)` adds exactly channel
//! `4i + j`'s product into lane `i` of `acc_j`: four instructions per 64 channels and tap,
//! on data loaded straight from the NHWC row, no shuffles. The frame lays the epilogue
//! parameters out in the same lane order (block 64, `kr` 4), and the results are packed
//! back to channel order with shifts: byte `4i + j` of the output is lane `i` of `acc_j`.
//!
//! When 64 is a multiple of the channel count and the stride is 1, the taps of a row of
//! pixels are contiguous across pixels too, so the row is processed as a flat array of
//! channels, 64 at a time (block 0's slots repeat the channels periodically, as the frame
//! guarantees for `block % channels == 0`).
//!
//! Range: one product per lane per tap, |u8 · s8| ≤ 32 640; sums exact under the frame's
//! accumulator-range proof.

// Tile code indexes rows and columns by their coordinates.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use qnn_ir::DType;
use qnn_ir::backend::{DepthwiseArgs, Epilogue};
use qnn_kernels::epilogue::lanes::{add_bias, requantize, sub_t3_lanes};

/// Channels per block.
pub const BLOCK: usize = 64;

/// # Safety
/// The [`DepthwiseArgs`] contract for block 64, `kr` 4, and a CPU with AVX-512 F/BW/VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn depthwise(args: &DepthwiseArgs<'_>) {
    let c = args.channels;
    let blocks = c.div_ceil(BLOCK);
    let e = args.epilogue;
    let size = e.out_dtype.size_bytes();
    // SAFETY: `rows` holds kh pointers.
    let rows = unsafe { std::slice::from_raw_parts(args.rows, args.kh) };
    let tap_step = args.dilation_w * c;
    let w = args.weights.cast::<__m512i>();
    if args.stride_w == 1 && BLOCK.is_multiple_of(c) {
        let total = args.ow * c;
        for f in (0..total).step_by(BLOCK) {
            // SAFETY: flat chunks read at most a block past the last pixel (the rows' slack);
            // the output chunk is clipped to the row.
            unsafe {
                block(
                    rows,
                    args.kw,
                    tap_step,
                    f,
                    w,
                    1,
                    0,
                    e,
                    args.out.add(f * size),
                    (total - f).min(BLOCK),
                )
            };
        }
    } else {
        for x in 0..args.ow {
            for b in 0..blocks {
                let base = x * args.stride_w * c + b * BLOCK;
                // SAFETY: block b of pixel x; the last block reads into the slack and its
                // output is clipped to the channels.
                unsafe {
                    block(
                        rows,
                        args.kw,
                        tap_step,
                        base,
                        w,
                        blocks,
                        b,
                        e,
                        args.out.add((x * c + b * BLOCK) * size),
                        (c - b * BLOCK).min(BLOCK),
                    )
                };
            }
        }
    }
}

/// One block of 64 channels (or 64 flat elements) at element `base` of every row.
///
/// # Safety
/// Rows readable at `base + s·tap_step + 64` for every tap, weights packed for `blocks`
/// blocks, `out` valid for `n` elements.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn block(
    rows: &[*const u8],
    kw: usize,
    tap_step: usize,
    base: usize,
    w: *const __m512i,
    blocks: usize,
    b: usize,
    e: &Epilogue<'_>,
    out: *mut u8,
    n: usize,
) {
    let mut acc = [_mm512_setzero_si512(); 4];
    let mut sums = [_mm512_setzero_si512(); 4];
    let t3 = e.t3_zero_point.is_some();
    for (r, &row) in rows.iter().enumerate() {
        for s in 0..kw {
            let t = r * kw + s;
            // SAFETY: the caller guarantees the 64 bytes are readable.
            let d = unsafe { _mm512_loadu_si512(row.add(base + s * tap_step).cast()) };
            for j in 0..4 {
                // SAFETY: weights hold taps × blocks × 4 vectors.
                let wj = unsafe { _mm512_loadu_si512(w.add((t * blocks + b) * 4 + j)) };
                acc[j] = _mm512_dpbusd_epi32(acc[j], d, wj);
                if t3 {
                    // Window sums: weight 1 in byte j of every lane.
                    sums[j] = _mm512_dpbusd_epi32(sums[j], d, _mm512_set1_epi32(1 << (8 * j)));
                }
            }
        }
    }
    let mut lanes = [0i32; 64];
    let mut window = [0i32; 64];
    for j in 0..4 {
        // SAFETY: 16 lanes per vector, 64 in all.
        unsafe {
            _mm512_storeu_si512(lanes.as_mut_ptr().add(16 * j).cast(), acc[j]);
            _mm512_storeu_si512(window.as_mut_ptr().add(16 * j).cast(), sums[j]);
        }
    }
    let at = b * BLOCK;
    let mut v = add_bias(&lanes, e, at);
    if let Some(z) = e.t3_zero_point {
        sub_t3_lanes(&mut v, z, at, &window);
    }
    let o = requantize(&v, e, at);
    // SAFETY: `out` is valid for `n ≤ 64` elements.
    unsafe { store_channels(&o, e.out_dtype, out, n) };
}

/// Stores lane-ordered results in channel order: channel `4i + j` is lane `16j + i`.
///
/// # Safety
/// `out` valid for `n ≤ 64` elements of `dtype`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn store_channels(o: &[i32; 64], dtype: DType, out: *mut u8, n: usize) {
    if dtype == DType::I32 {
        let mut v = [0i32; 64];
        for i in 0..16 {
            for j in 0..4 {
                v[4 * i + j] = o[16 * j + i];
            }
        }
        // SAFETY: n ≤ 64 i32 elements at `out`.
        unsafe { std::ptr::copy_nonoverlapping(v.as_ptr().cast::<u8>(), out, 4 * n) };
        return;
    }
    // Values are clamped to u8 or i8: their low bytes, shifted into place.
    let mut dw = [0u32; 16];
    for i in 0..16 {
        dw[i] = (o[i] as u32 & 0xff)
            | (o[16 + i] as u32 & 0xff) << 8
            | (o[32 + i] as u32 & 0xff) << 16
            | (o[48 + i] as u32) << 24;
    }
    if n == 64 {
        // SAFETY: 64 bytes at `out`.
        unsafe { std::ptr::copy_nonoverlapping(dw.as_ptr().cast::<u8>(), out, 64) };
    } else {
        // SAFETY: n bytes at `out`.
        unsafe { std::ptr::copy_nonoverlapping(dw.as_ptr().cast::<u8>(), out, n) };
    }
}
