//! dotprod depthwise convolution, 16 channels per block, `kr` = 4.
//!
//! A depthwise layer has no reduction over channels, but `sdot` sums 4 adjacent bytes. With
//! weights that keep one byte in four (sub-vector `j` holds channel `4i + j`'s weight in
//! byte `4i + j`, zero elsewhere), `sdot acc_j, data, w_j` adds exactly channel `4i + j`'s
//! product to lane `i` of `acc_j`: four instructions per 16 channels and tap, on data loaded
//! straight from the NHWC row; two output pixels share each tap's weight loads. When the epilogue has a T3 term, the window sums come the same
//! way from a constant vector with a 1 in byte `j` of every lane. The frame lays the epilogue
//! parameters out in this lane order (slot `4j + i` is channel `4i + j`); the results go back
//! to channel order before the store.
//!
//! Range: one 8-bit product per lane and tap, summed in i32 (u32): exact under the frame's
//! accumulator-range proof.

// Register tiles are indexed by (row, column), as the equations above are.
#![allow(clippy::needless_range_loop)]

use core::arch::aarch64::*;

use qnn_ir::backend::DepthwiseArgs;
use qnn_kernels::epilogue::lanes::{add_bias, requantize, store, sub_t3_lanes};

use crate::intrinsics::{vdotq_s32, vdotq_u32};

/// Channels per block.
pub const BLOCK: usize = 16;

/// `acc + dot(d, w)` per lane: `UNSIGNED` u8 × u8 (`udot`), else s8 × s8 (`sdot`).
#[inline]
#[target_feature(enable = "neon,dotprod")]
fn dot<const UNSIGNED: bool>(acc: int32x4_t, d: uint8x16_t, w: uint8x16_t) -> int32x4_t {
    if UNSIGNED {
        vreinterpretq_s32_u32(vdotq_u32(vreinterpretq_u32_s32(acc), d, w))
    } else {
        vdotq_s32(acc, vreinterpretq_s8_u8(d), vreinterpretq_s8_u8(w))
    }
}

/// Products and window sums of `P` neighbouring output pixels (`x`, `x + 1`, …) for block
/// `b`, in lane order: the weights of each tap are loaded once for all `P` pixels.
///
/// # Safety
/// The [`DepthwiseArgs`] contract; pixels `x..x + P` and block `b` inside the row.
#[inline]
#[target_feature(enable = "neon,dotprod")]
unsafe fn pixels<const UNSIGNED: bool, const T3: bool, const P: usize>(
    args: &DepthwiseArgs<'_>,
    rows: &[*const u8],
    x: usize,
    b: usize,
) -> [[[int32x4_t; 4]; 2]; P] {
    let c = args.channels;
    // Byte j of every lane is 1: the sum of sub-vector j's channels.
    let ones: [uint8x16_t; 4] =
        std::array::from_fn(|j| vreinterpretq_u8_u32(vdupq_n_u32(1 << (8 * j))));
    // Bytes between the weights of one tap and the next (taps × blocks × 4 × 16).
    let tap_bytes = c.div_ceil(BLOCK) * 4 * BLOCK;
    let zero = vdupq_n_s32(0);
    // [pixel][products, window sums][sub-vector j]
    let mut acc = [[[zero; 4]; 2]; P];
    let first = x * args.stride_w * c + b * BLOCK;
    let pixel = args.stride_w * c;
    let step = args.dilation_w * c;
    let mut w = args.weights.wrapping_add(b * 4 * BLOCK);
    for &row in rows {
        let mut d = row.wrapping_add(first);
        for _ in 0..args.kw {
            // SAFETY: weights hold taps × blocks × 4 vectors.
            let wv: [uint8x16_t; 4] =
                std::array::from_fn(|j| unsafe { vld1q_u8(w.add(BLOCK * j)) });
            for (p, [products, sums]) in acc.iter_mut().enumerate() {
                // SAFETY: padded rows hold the window plus a block of slack.
                let dv = unsafe { vld1q_u8(d.wrapping_add(p * pixel)) };
                for j in 0..4 {
                    products[j] = dot::<UNSIGNED>(products[j], dv, wv[j]);
                    if T3 {
                        sums[j] = dot::<UNSIGNED>(sums[j], dv, ones[j]);
                    }
                }
            }
            d = d.wrapping_add(step);
            w = w.wrapping_add(tap_bytes);
        }
    }
    acc
}

/// The epilogue of one pixel's block: channels `at..at + n` written at `out`.
///
/// # Safety
/// `out` valid for `n ≤ 16` elements of the epilogue's dtype.
#[inline]
#[target_feature(enable = "neon,dotprod")]
unsafe fn finish<const T3: bool>(
    e: &qnn_ir::backend::Epilogue<'_>,
    [products, sums]: &[[int32x4_t; 4]; 2],
    at: usize,
    n: usize,
    out: *mut u8,
) {
    let mut lanes = [0i32; BLOCK];
    let mut window = [0i32; BLOCK];
    for j in 0..4 {
        // SAFETY: 4 lanes per vector, 16 in all.
        unsafe {
            vst1q_s32(lanes.as_mut_ptr().add(4 * j), products[j]);
            vst1q_s32(window.as_mut_ptr().add(4 * j), sums[j]);
        }
    }
    let mut v = add_bias(&lanes, e, at);
    if let (true, Some(z)) = (T3, e.t3_zero_point) {
        sub_t3_lanes(&mut v, z, at, &window);
    }
    let o = requantize(&v, e, at);
    // Channel 4i + j is slot 4j + i.
    let channels: [i32; BLOCK] = std::array::from_fn(|ch| o[4 * (ch % 4) + ch / 4]);
    // SAFETY: forwarded from the caller.
    unsafe { store(&channels, n, e.out_dtype, out) };
}

/// The whole output row: per block of 16 channels, pixels two at a time.
///
/// # Safety
/// The [`DepthwiseArgs`] contract for block 16, `kr` 4, 8-bit operands, on a CPU with
/// dotprod.
#[inline]
#[target_feature(enable = "neon,dotprod")]
unsafe fn depthwise<const UNSIGNED: bool, const T3: bool>(args: &DepthwiseArgs<'_>) {
    let c = args.channels;
    let e = args.epilogue;
    let size = e.out_dtype.size_bytes();
    // SAFETY: `rows` holds kh pointers.
    let rows = unsafe { std::slice::from_raw_parts(args.rows, args.kh) };
    for b in 0..c.div_ceil(BLOCK) {
        let at = b * BLOCK;
        let n = (c - at).min(BLOCK);
        let out = |x: usize| args.out.wrapping_add((x * c + at) * size);
        let mut x = 0;
        while x + 2 <= args.ow {
            // SAFETY: pixels x, x + 1 < ow; outputs are channels at..at+n of those pixels.
            unsafe {
                let acc = pixels::<UNSIGNED, T3, 2>(args, rows, x, b);
                finish::<T3>(e, &acc[0], at, n, out(x));
                finish::<T3>(e, &acc[1], at, n, out(x + 1));
            }
            x += 2;
        }
        if x < args.ow {
            // SAFETY: as above, the last pixel.
            unsafe {
                let acc = pixels::<UNSIGNED, T3, 1>(args, rows, x, b);
                finish::<T3>(e, &acc[0], at, n, out(x));
            }
        }
    }
}

qnn_kernels::t3_variants!(
    "neon,dotprod",
    /// `dotprod_dw_s8s8_16`: `sdot` with one useful byte in four.
    dotprod_dw_s8s8_16,
    dotprod_dw_s8s8_16_plain,
    dotprod_dw_s8s8_16_t3,
    depthwise::<false>
);
qnn_kernels::t3_variants!(
    "neon,dotprod",
    /// `dotprod_dw_u8u8_16`: the same with `udot`.
    dotprod_dw_u8u8_16,
    dotprod_dw_u8u8_16_plain,
    dotprod_dw_u8u8_16_t3,
    depthwise::<true>
);
