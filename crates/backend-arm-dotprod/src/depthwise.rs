//! dotprod depthwise convolution, 16 channels per block, `kr` = 4.
//!
//! A depthwise layer has no reduction over channels, but `sdot` sums 4 adjacent bytes. With
//! weights that keep one byte in four (sub-vector `j` holds channel `4i + j`'s weight in
//! byte `4i + j`, zero elsewhere), `sdot acc_j, data, w_j` adds exactly channel `4i + j`'s
//! product to lane `i` of `acc_j`: four instructions per 16 channels and tap, on data loaded
//! straight from the NHWC row. When the epilogue has a T3 term, the window sums come the same
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

/// The whole output row.
///
/// # Safety
/// The [`DepthwiseArgs`] contract for block 16, `kr` 4, 8-bit operands, on a CPU with
/// dotprod.
#[inline]
#[target_feature(enable = "neon,dotprod")]
unsafe fn depthwise<const UNSIGNED: bool, const T3: bool>(args: &DepthwiseArgs<'_>) {
    let c = args.channels;
    let blocks = c.div_ceil(BLOCK);
    let e = args.epilogue;
    let size = e.out_dtype.size_bytes();
    // SAFETY: `rows` holds kh pointers.
    let rows = unsafe { std::slice::from_raw_parts(args.rows, args.kh) };
    // Byte j of every lane is 1: the sum of sub-vector j's channels.
    let ones: [uint8x16_t; 4] =
        std::array::from_fn(|j| vreinterpretq_u8_u32(vdupq_n_u32(1 << (8 * j))));
    // Bytes between the weights of one tap and the next (taps × blocks × 4 × 16).
    let tap_bytes = blocks * 4 * BLOCK;
    for x in 0..args.ow {
        for b in 0..blocks {
            let zero = vdupq_n_s32(0);
            let (mut acc, mut sums) = ([zero; 4], [zero; 4]);
            let first = x * args.stride_w * c + b * BLOCK;
            let step = args.dilation_w * c;
            let mut w = args.weights.wrapping_add(b * 4 * BLOCK);
            for &row in rows {
                let mut d = row.wrapping_add(first);
                for _ in 0..args.kw {
                    // SAFETY: padded rows hold the window plus a block of slack; weights
                    // hold taps × blocks × 4 vectors.
                    unsafe {
                        let dv = vld1q_u8(d);
                        for j in 0..4 {
                            acc[j] = dot::<UNSIGNED>(acc[j], dv, vld1q_u8(w.add(BLOCK * j)));
                            if T3 {
                                sums[j] = dot::<UNSIGNED>(sums[j], dv, ones[j]);
                            }
                        }
                    }
                    d = d.wrapping_add(step);
                    w = w.wrapping_add(tap_bytes);
                }
            }
            let mut lanes = [0i32; BLOCK];
            let mut window = [0i32; BLOCK];
            for j in 0..4 {
                // SAFETY: 4 lanes per vector, 16 in all.
                unsafe {
                    vst1q_s32(lanes.as_mut_ptr().add(4 * j), acc[j]);
                    vst1q_s32(window.as_mut_ptr().add(4 * j), sums[j]);
                }
            }
            let at = b * BLOCK;
            let mut v = add_bias(&lanes, e, at);
            if let (true, Some(z)) = (T3, e.t3_zero_point) {
                sub_t3_lanes(&mut v, z, at, &window);
            }
            let o = requantize(&v, e, at);
            // Channel 4i + j is slot 4j + i.
            let channels: [i32; BLOCK] = std::array::from_fn(|ch| o[4 * (ch % 4) + ch / 4]);
            let n = (c - at).min(BLOCK);
            // SAFETY: channels at..at+n of pixel x of the output row.
            unsafe { store(&channels, n, e.out_dtype, args.out.add((x * c + at) * size)) };
        }
    }
}

/// Defines a kernel entry that runs one of two monomorphizations, each its own symbol (so
/// profiles and `cargo xtask asm-report` see them apart): `$plain` without and `$t3` with
/// the window sums of the T3 term.
macro_rules! entry {
    ($(#[$doc:meta])* $name:ident, $plain:ident, $t3:ident, $unsigned:literal) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// See [`depthwise`].
        #[target_feature(enable = "neon,dotprod")]
        pub unsafe fn $name(args: &DepthwiseArgs<'_>) {
            // SAFETY: forwarded contract.
            unsafe {
                if args.epilogue.t3_zero_point.is_some() { $t3(args) } else { $plain(args) }
            }
        }

        /// Without window sums (every `w_k` is 0).
        ///
        /// # Safety
        /// See [`depthwise`].
        #[inline(never)]
        #[target_feature(enable = "neon,dotprod")]
        unsafe fn $plain(args: &DepthwiseArgs<'_>) {
            // SAFETY: forwarded contract.
            unsafe { depthwise::<$unsigned, false>(args) }
        }

        /// With window sums for the T3 term.
        ///
        /// # Safety
        /// See [`depthwise`].
        #[inline(never)]
        #[target_feature(enable = "neon,dotprod")]
        unsafe fn $t3(args: &DepthwiseArgs<'_>) {
            // SAFETY: forwarded contract.
            unsafe { depthwise::<$unsigned, true>(args) }
        }
    };
}

entry!(
    /// `dotprod_dw_s8s8_16`: `sdot` with one useful byte in four.
    dotprod_dw_s8s8_16,
    dotprod_dw_s8s8_16_plain,
    dotprod_dw_s8s8_16_t3,
    false
);
entry!(
    /// `dotprod_dw_u8u8_16`: the same with `udot`.
    dotprod_dw_u8u8_16,
    dotprod_dw_u8u8_16_plain,
    dotprod_dw_u8u8_16_t3,
    true
);
