//! NEON depthwise convolution, 16 channels per block (`kr` = 1, natural lane order).
//!
//! Per block, pair of output pixels and tap: 16 data values per pixel (from the padded NHWC
//! row) and 16 weights (from the packed taps, loaded once for the pair) are multiplied lane
//! by lane into four i32x4 accumulators per pixel:
//!
//! * int16 (`I16`): `smlal`/`smlal2` on two i16x8 pairs, 4 MACs per multiply;
//! * s8 × s8 (`S8`): `smull`/`smull2` (16 i16 products, |p| ≤ 16384, exact) then
//!   `saddw`/`saddw2` into the i32 lanes, 8 MACs per multiply;
//! * u8 × u8 (`U8`): `umull`/`umull2` (p ≤ 65025, exact in u16) then `uaddw`/`uaddw2`.
//!
//! Products are widened to 32 bits before any sum is formed, so nothing can wrap in 16 bits;
//! the i32 sums are exact under the frame's accumulator-range proof. When the epilogue has a
//! T3 term, the data is summed per lane alongside (widened the same way).

// Register tiles are indexed by (row, column), as the equations above are.
#![allow(clippy::needless_range_loop)]

use core::arch::aarch64::*;

use qnn_ir::backend::DepthwiseArgs;
use qnn_kernels::epilogue::lanes::{add_bias, requantize, store, sub_t3_lanes};

/// Channels per block.
pub const BLOCK: usize = 16;

/// An operand type of a depthwise kernel: how 16 lanes are loaded, multiplied and summed.
trait Lanes {
    /// Bytes per element.
    const SIZE: usize;
    /// `acc[q] += d · w` for the 16 lanes at `d` and `w`.
    ///
    /// # Safety
    /// `d` and `w` valid for 16 elements.
    unsafe fn mac(acc: &mut [int32x4_t; 4], d: *const u8, w: *const u8);
    /// `sums[q] += d` for the 16 lanes at `d`.
    ///
    /// # Safety
    /// `d` valid for 16 elements.
    unsafe fn sum(sums: &mut [int32x4_t; 4], d: *const u8);
}

struct I16;
struct S8;
struct U8;

impl Lanes for I16 {
    const SIZE: usize = 2;
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn mac(acc: &mut [int32x4_t; 4], d: *const u8, w: *const u8) {
        // SAFETY: 32 bytes at each pointer (byte loads: no alignment needs).
        let (d0, d1, w0, w1) = unsafe {
            (
                vreinterpretq_s16_u8(vld1q_u8(d)),
                vreinterpretq_s16_u8(vld1q_u8(d.add(16))),
                vreinterpretq_s16_u8(vld1q_u8(w)),
                vreinterpretq_s16_u8(vld1q_u8(w.add(16))),
            )
        };
        acc[0] = vmlal_s16(acc[0], vget_low_s16(d0), vget_low_s16(w0));
        acc[1] = vmlal_high_s16(acc[1], d0, w0);
        acc[2] = vmlal_s16(acc[2], vget_low_s16(d1), vget_low_s16(w1));
        acc[3] = vmlal_high_s16(acc[3], d1, w1);
    }
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn sum(sums: &mut [int32x4_t; 4], d: *const u8) {
        // SAFETY: 32 bytes at `d`.
        let (d0, d1) = unsafe {
            (vreinterpretq_s16_u8(vld1q_u8(d)), vreinterpretq_s16_u8(vld1q_u8(d.add(16))))
        };
        sums[0] = vaddw_s16(sums[0], vget_low_s16(d0));
        sums[1] = vaddw_high_s16(sums[1], d0);
        sums[2] = vaddw_s16(sums[2], vget_low_s16(d1));
        sums[3] = vaddw_high_s16(sums[3], d1);
    }
}

/// `acc[2h..2h+2] += p` for 8 i16 products `p`.
#[inline]
#[target_feature(enable = "neon")]
fn add_s16(acc: &mut [int32x4_t; 4], h: usize, p: int16x8_t) {
    acc[2 * h] = vaddw_s16(acc[2 * h], vget_low_s16(p));
    acc[2 * h + 1] = vaddw_high_s16(acc[2 * h + 1], p);
}

/// The same for u16 values (u32 and i32 wrapping adds are the same bits).
#[inline]
#[target_feature(enable = "neon")]
fn add_u16(acc: &mut [int32x4_t; 4], h: usize, p: uint16x8_t) {
    let lo = vaddw_u16(vreinterpretq_u32_s32(acc[2 * h]), vget_low_u16(p));
    let hi = vaddw_high_u16(vreinterpretq_u32_s32(acc[2 * h + 1]), p);
    acc[2 * h] = vreinterpretq_s32_u32(lo);
    acc[2 * h + 1] = vreinterpretq_s32_u32(hi);
}

impl Lanes for S8 {
    const SIZE: usize = 1;
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn mac(acc: &mut [int32x4_t; 4], d: *const u8, w: *const u8) {
        // SAFETY: 16 bytes at each pointer.
        let (d, w) = unsafe { (vld1q_s8(d.cast()), vld1q_s8(w.cast())) };
        add_s16(acc, 0, vmull_s8(vget_low_s8(d), vget_low_s8(w)));
        add_s16(acc, 1, vmull_high_s8(d, w));
    }
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn sum(sums: &mut [int32x4_t; 4], d: *const u8) {
        // SAFETY: 16 bytes at `d`.
        let d = unsafe { vld1q_s8(d.cast()) };
        add_s16(sums, 0, vmovl_s8(vget_low_s8(d)));
        add_s16(sums, 1, vmovl_high_s8(d));
    }
}

impl Lanes for U8 {
    const SIZE: usize = 1;
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn mac(acc: &mut [int32x4_t; 4], d: *const u8, w: *const u8) {
        // SAFETY: 16 bytes at each pointer.
        let (d, w) = unsafe { (vld1q_u8(d), vld1q_u8(w)) };
        add_u16(acc, 0, vmull_u8(vget_low_u8(d), vget_low_u8(w)));
        add_u16(acc, 1, vmull_high_u8(d, w));
    }
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn sum(sums: &mut [int32x4_t; 4], d: *const u8) {
        // SAFETY: 16 bytes at `d`.
        let d = unsafe { vld1q_u8(d) };
        add_u16(sums, 0, vmovl_u8(vget_low_u8(d)));
        add_u16(sums, 1, vmovl_high_u8(d));
    }
}

/// Products and window sums of `P` neighbouring output pixels (`x`, `x + 1`, …) for block
/// `b`: the weights of each tap are loaded once for all `P` pixels.
///
/// # Safety
/// The [`DepthwiseArgs`] contract; pixels `x..x + P` and block `b` inside the row.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn pixels<L: Lanes, const T3: bool, const P: usize>(
    args: &DepthwiseArgs<'_>,
    rows: &[*const u8],
    x: usize,
    b: usize,
) -> [[[int32x4_t; 4]; 2]; P] {
    let c = args.channels;
    let block_bytes = BLOCK * L::SIZE;
    let tap_bytes = c.div_ceil(BLOCK) * block_bytes;
    let zero = vdupq_n_s32(0);
    // [pixel][products, window sums][quarter]
    let mut acc = [[[zero; 4]; 2]; P];
    // Tap (r, s) of pixel x reads element (x·stride + s·dilation)·c + 16b of row r; its
    // weights are block b of tap r·kw + s.
    let first = (x * args.stride_w * c + b * BLOCK) * L::SIZE;
    let pixel = args.stride_w * c * L::SIZE;
    let step = args.dilation_w * c * L::SIZE;
    let mut w = args.weights.wrapping_add(b * block_bytes);
    for &row in rows {
        let mut d = row.wrapping_add(first);
        for _ in 0..args.kw {
            for (p, [products, sums]) in acc.iter_mut().enumerate() {
                let dp = d.wrapping_add(p * pixel);
                // SAFETY: padded rows hold the window plus a block of slack; weights hold
                // taps × blocks blocks.
                unsafe {
                    L::mac(products, dp, w);
                    if T3 {
                        L::sum(sums, dp);
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
#[target_feature(enable = "neon")]
unsafe fn finish<const T3: bool>(
    e: &qnn_ir::backend::Epilogue<'_>,
    [products, sums]: &[[int32x4_t; 4]; 2],
    at: usize,
    n: usize,
    out: *mut u8,
) {
    let mut lanes = [0i32; BLOCK];
    let mut window = [0i32; BLOCK];
    for q in 0..4 {
        // SAFETY: 4 lanes per vector, 16 in all.
        unsafe {
            vst1q_s32(lanes.as_mut_ptr().add(4 * q), products[q]);
            vst1q_s32(window.as_mut_ptr().add(4 * q), sums[q]);
        }
    }
    let mut v = add_bias(&lanes, e, at);
    if let (true, Some(z)) = (T3, e.t3_zero_point) {
        sub_t3_lanes(&mut v, z, at, &window);
    }
    let o = requantize(&v, e, at);
    // SAFETY: forwarded from the caller.
    unsafe { store(&o, n, e.out_dtype, out) };
}

/// The whole output row: per block of 16 channels, pixels two at a time.
///
/// # Safety
/// The [`DepthwiseArgs`] contract for block 16, `kr` 1, elements of `L`, on a CPU with NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn depthwise<L: Lanes, const T3: bool>(args: &DepthwiseArgs<'_>) {
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
                let acc = pixels::<L, T3, 2>(args, rows, x, b);
                finish::<T3>(e, &acc[0], at, n, out(x));
                finish::<T3>(e, &acc[1], at, n, out(x + 1));
            }
            x += 2;
        }
        if x < args.ow {
            // SAFETY: as above, the last pixel.
            unsafe { finish::<T3>(e, &pixels::<L, T3, 1>(args, rows, x, b)[0], at, n, out(x)) };
        }
    }
}

qnn_kernels::t3_variants!(
    "neon",
    /// `neon_dw_i16_16`: int16 lowering, `smlal`/`smlal2`.
    neon_dw_i16_16,
    neon_dw_i16_16_plain,
    neon_dw_i16_16_t3,
    depthwise::<I16>
);
qnn_kernels::t3_variants!(
    "neon",
    /// `neon_dw_s8s8_16`: int8 lowering, `smull`/`smull2` + `saddw`/`saddw2`.
    neon_dw_s8s8_16,
    neon_dw_s8s8_16_plain,
    neon_dw_s8s8_16_t3,
    depthwise::<S8>
);
qnn_kernels::t3_variants!(
    "neon",
    /// `neon_dw_u8u8_16`: int8 lowering, `umull`/`umull2` + `uaddw`/`uaddw2`.
    neon_dw_u8u8_16,
    neon_dw_u8u8_16_plain,
    neon_dw_u8u8_16_t3,
    depthwise::<U8>
);
