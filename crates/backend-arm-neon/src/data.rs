//! NEON kernels around convolutions (the contracts of `qnn_ir::backend::data_kernels`):
//! pooling windows and element-wise ops along the contiguous channels of NHWC data, and the
//! quantizing transpose of a graph's input edge. Each IEEE operation of a formula is one
//! NEON instruction in the reference's order (`vfmaq_f32` is the fused multiply-add of the
//! reference's `mul_add`; `vrndnq_f32` rounds half to even; `vdivq_f32` divides). Tails
//! shorter than a vector go through stack copies, so nothing is read or written past the
//! contract's bounds.

// Register quarters are indexed by their lane group, as the formulas are.
#![allow(clippy::needless_range_loop)]

use core::arch::aarch64::*;

use qnn_ir::backend::{
    ElementwiseArgs, ElementwiseOp, PoolArgs, PoolOp, TransposeArgs, TransposeConvert,
};

/// `n ≤ 16` bytes at `src` (the rest zero).
///
/// # Safety
/// `src` valid for `n` bytes; NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load16(src: *const u8, n: usize) -> uint8x16_t {
    // SAFETY: 16 readable bytes when `n == 16`, else a local copy of the `n` there are.
    unsafe {
        if n == 16 {
            vld1q_u8(src)
        } else {
            let mut buf = [0u8; 16];
            std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), n);
            vld1q_u8(buf.as_ptr())
        }
    }
}

/// The first `n ≤ 16` bytes of `v` to `dst`.
///
/// # Safety
/// `dst` valid for `n` bytes; NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn store16(dst: *mut u8, v: uint8x16_t, n: usize) {
    // SAFETY: 16 writable bytes when `n == 16`, else the `n` there are, from a local copy.
    unsafe {
        if n == 16 {
            vst1q_u8(dst, v);
        } else {
            let mut buf = [0u8; 16];
            vst1q_u8(buf.as_mut_ptr(), v);
            std::ptr::copy_nonoverlapping(buf.as_ptr(), dst, n);
        }
    }
}

/// The cell pointers of output pixel `p`.
///
/// # Safety
/// `args.cells` holds `pixels × taps` pointers.
#[inline(always)]
unsafe fn cells<'a>(args: &'a PoolArgs<'_>, p: usize) -> &'a [*const u8] {
    // SAFETY: the caller's contract: `pixels × taps` pointers, pixel-major.
    unsafe { std::slice::from_raw_parts(args.cells.add(p * args.taps), args.taps) }
}

/// Max of u8 (`SIGNED = false`) or i8 cells over the window (`umax`/`smax`).
///
/// # Safety
/// The [`PoolArgs`] contract with [`PoolOp::Max`] and 8-bit elements; NEON.
#[target_feature(enable = "neon")]
pub unsafe fn max_8bit<const SIGNED: bool>(args: &PoolArgs<'_>) {
    let max = |a: uint8x16_t, b: uint8x16_t| {
        if SIGNED {
            vreinterpretq_u8_s8(vmaxq_s8(vreinterpretq_s8_u8(a), vreinterpretq_s8_u8(b)))
        } else {
            vmaxq_u8(a, b)
        }
    };
    let c = args.channels;
    for p in 0..args.pixels {
        // SAFETY: the contract's pointer table.
        let cells = unsafe { cells(args, p) };
        // SAFETY: output pixel p holds `channels` bytes at `p · out_stride`.
        let out = unsafe { args.out.add(p * args.out_stride) };
        let mut at = 0;
        while at < c {
            let n = (c - at).min(16);
            // SAFETY: `n` bytes left in every cell and in the output pixel.
            unsafe {
                let mut acc = load16(cells[0].add(at), n);
                for &cell in &cells[1..] {
                    acc = max(acc, load16(cell.add(at), n));
                }
                store16(out.add(at), acc, n);
            }
            at += n;
        }
    }
}

/// 16 8-bit lanes as four i32x4.
#[inline]
#[target_feature(enable = "neon")]
fn widen<const SIGNED: bool>(v: uint8x16_t) -> [int32x4_t; 4] {
    if SIGNED {
        let s = vreinterpretq_s8_u8(v);
        let (lo, hi) = (vmovl_s8(vget_low_s8(s)), vmovl_high_s8(s));
        [
            vmovl_s16(vget_low_s16(lo)),
            vmovl_high_s16(lo),
            vmovl_s16(vget_low_s16(hi)),
            vmovl_high_s16(hi),
        ]
    } else {
        let (lo, hi) = (vmovl_u8(vget_low_u8(v)), vmovl_high_u8(v));
        [
            vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo))),
            vreinterpretq_s32_u32(vmovl_high_u16(lo)),
            vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(hi))),
            vreinterpretq_s32_u32(vmovl_high_u16(hi)),
        ]
    }
}

/// Four i32x4 of 8-bit-range values as 16 bytes (never saturating: the values are in range).
#[inline]
#[target_feature(enable = "neon")]
fn narrow<const SIGNED: bool>(y: [int32x4_t; 4]) -> uint8x16_t {
    let lo = vcombine_s16(vqmovn_s32(y[0]), vqmovn_s32(y[1]));
    let hi = vcombine_s16(vqmovn_s32(y[2]), vqmovn_s32(y[3]));
    if SIGNED {
        vreinterpretq_u8_s8(vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)))
    } else {
        vcombine_u8(vqmovun_s16(lo), vqmovun_s16(hi))
    }
}

/// Round half to even, NaN → `nan_to`, clamp to `[lo, hi]`, as i32 lanes.
#[inline]
#[target_feature(enable = "neon")]
fn finish(v: float32x4_t, lo: float32x4_t, hi: float32x4_t, nan_to: float32x4_t) -> int32x4_t {
    let r = vrndnq_f32(v);
    let clamped = vminq_f32(vmaxq_f32(r, lo), hi);
    let ordered = vceqq_f32(r, r);
    vcvtq_s32_f32(vbslq_f32(ordered, clamped, nan_to))
}

/// ONNX Runtime's `QLinearAveragePool` ([`PoolOp::AverageF32`]): per cell
/// `sum += f32(x − zp) · scale_in` (two roundings), then `/ count / scale_out + zp_out`,
/// round half to even, NaN → 0, clamp.
///
/// # Safety
/// The [`PoolArgs`] contract with [`PoolOp::AverageF32`] and 8-bit elements; NEON.
#[target_feature(enable = "neon")]
pub unsafe fn average_f32_8bit<const SIGNED: bool>(args: &PoolArgs<'_>) {
    let PoolOp::AverageF32 { zp_in, scale_in, scale_out, zp_out, lo, hi } = *args.op else {
        return;
    };
    let (zp, s_in, s_out, z_out) =
        (vdupq_n_s32(zp_in), vdupq_n_f32(scale_in), vdupq_n_f32(scale_out), vdupq_n_f32(zp_out));
    let (vlo, vhi, zero) = (vdupq_n_f32(lo), vdupq_n_f32(hi), vdupq_n_f32(0.0));
    let c = args.channels;
    for p in 0..args.pixels {
        // SAFETY: the contract's pointer table.
        let cells = unsafe { cells(args, p) };
        let count = vdupq_n_f32(args.counts[p]);
        // SAFETY: output pixel p holds `channels` bytes at `p · out_stride`.
        let out = unsafe { args.out.add(p * args.out_stride) };
        let mut at = 0;
        while at < c {
            let n = (c - at).min(16);
            let mut sum = [zero; 4];
            for &cell in cells {
                // SAFETY: `n` bytes left in the cell.
                let x = widen::<SIGNED>(unsafe { load16(cell.add(at), n) });
                for q in 0..4 {
                    let real = vmulq_f32(vcvtq_f32_s32(vsubq_s32(x[q], zp)), s_in);
                    sum[q] = vaddq_f32(sum[q], real);
                }
            }
            let y = sum.map(|s| {
                let v = vaddq_f32(vdivq_f32(vdivq_f32(s, count), s_out), z_out);
                finish(v, vlo, vhi, zero)
            });
            // SAFETY: `n` bytes left in the output pixel.
            unsafe { store16(out.add(at), narrow::<SIGNED>(y), n) };
            at += n;
        }
    }
}

/// The exact integer sum over the cells into i32 ([`PoolOp::SumI32`]).
///
/// # Safety
/// The [`PoolArgs`] contract with [`PoolOp::SumI32`], 8-bit elements, i32 output; NEON.
#[target_feature(enable = "neon")]
pub unsafe fn sum_i32_8bit<const SIGNED: bool>(args: &PoolArgs<'_>) {
    let c = args.channels;
    for p in 0..args.pixels {
        // SAFETY: the contract's pointer table.
        let cells = unsafe { cells(args, p) };
        // SAFETY: output pixel p holds `channels` i32 at `p · out_stride`.
        let out = unsafe { args.out.add(4 * p * args.out_stride) };
        let mut at = 0;
        while at < c {
            let n = (c - at).min(16);
            let mut sum = [vdupq_n_s32(0); 4];
            for &cell in cells {
                // SAFETY: `n` bytes left in the cell.
                let x = widen::<SIGNED>(unsafe { load16(cell.add(at), n) });
                for q in 0..4 {
                    sum[q] = vaddq_s32(sum[q], x[q]);
                }
            }
            let mut buf = [0i32; 16];
            // SAFETY: a local array of 16 i32, then `n` i32 left in the output pixel.
            unsafe {
                for q in 0..4 {
                    vst1q_s32(buf.as_mut_ptr().add(4 * q), sum[q]);
                }
                std::ptr::copy_nonoverlapping(buf.as_ptr().cast::<u8>(), out.add(4 * at), 4 * n);
            }
            at += n;
        }
    }
}

/// ONNX Runtime's `QLinearAdd` ([`ElementwiseOp::QLinearAdd`]):
/// `clamp(rne(fma(f32(a), ma, fma(f32(b), mb, c))))`.
///
/// # Safety
/// The [`ElementwiseArgs`] contract with this op, 8-bit `a`, `b` and `out`; NEON.
#[target_feature(enable = "neon")]
pub unsafe fn qlinear_add<const SIGNED: bool>(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::QLinearAdd { ma, mb, c, lo, hi } = *args.op else { return };
    let (ma, mb, c) = (vdupq_n_f32(ma), vdupq_n_f32(mb), vdupq_n_f32(c));
    let (lo, hi, zero) = (vdupq_n_f32(lo), vdupq_n_f32(hi), vdupq_n_f32(0.0));
    let mut at = 0;
    while at < args.n {
        let n = (args.n - at).min(16);
        // SAFETY: `n` elements left in `a`, `b` and `out`.
        unsafe {
            let a = widen::<SIGNED>(load16(args.a.add(at), n));
            let b = widen::<SIGNED>(load16(args.b.add(at), n));
            let y: [int32x4_t; 4] = std::array::from_fn(|q| {
                let t = vfmaq_f32(c, vcvtq_f32_s32(b[q]), mb);
                finish(vfmaq_f32(t, vcvtq_f32_s32(a[q]), ma), lo, hi, zero)
            });
            store16(args.out.add(at), narrow::<SIGNED>(y), n);
        }
        at += n;
    }
}

/// `n ≤ 4` f32 at `src` (the rest zero).
///
/// # Safety
/// `src` valid for `4 · n` bytes; NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load_f32(src: *const u8, n: usize) -> float32x4_t {
    // SAFETY: 16 readable bytes when `n == 4`, else a local copy of the `4n` there are.
    unsafe {
        if n == 4 {
            vld1q_f32(src.cast())
        } else {
            let mut buf = [0f32; 4];
            std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr().cast(), 4 * n);
            vld1q_f32(buf.as_ptr())
        }
    }
}

/// `NaN ? lo : clamp(rne(x / s) + z, lo, hi)`, as i32 lanes.
#[inline]
#[target_feature(enable = "neon")]
fn quantize_lanes(
    x: float32x4_t,
    s: float32x4_t,
    z: float32x4_t,
    lo: float32x4_t,
    hi: float32x4_t,
) -> int32x4_t {
    // `rne(x / s) + z` of an integral value is integral (or ±∞, NaN): rounding it again in
    // `finish` changes nothing.
    finish(vaddq_f32(vrndnq_f32(vdivq_f32(x, s)), z), lo, hi, lo)
}

/// ONNX Runtime's `QuantizeLinear` of f32 ([`ElementwiseOp::Quantize`]).
///
/// # Safety
/// The [`ElementwiseArgs`] contract with this op, f32 `a`, 8-bit `out`; NEON.
#[target_feature(enable = "neon")]
pub unsafe fn quantize<const SIGNED: bool>(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::Quantize { scale, zero_point, lo, hi } = *args.op else { return };
    let (s, z) = (vdupq_n_f32(scale), vdupq_n_f32(zero_point));
    let (vlo, vhi) = (vdupq_n_f32(lo), vdupq_n_f32(hi));
    let mut at = 0;
    while at < args.n {
        let n = (args.n - at).min(16);
        // SAFETY: `n` f32 left in `a`, `n` bytes in `out`.
        unsafe {
            let y: [int32x4_t; 4] = std::array::from_fn(|q| {
                let k = n.saturating_sub(4 * q).min(4);
                let x = if k == 0 {
                    vdupq_n_f32(0.0)
                } else {
                    load_f32(args.a.add(4 * (at + 4 * q)), k)
                };
                quantize_lanes(x, s, z, vlo, vhi)
            });
            store16(args.out.add(at), narrow::<SIGNED>(y), n);
        }
        at += n;
    }
}

/// `DequantizeLinear` of 8-bit data ([`ElementwiseOp::Dequantize`]): `f32(x − zp) · scale`.
///
/// # Safety
/// The [`ElementwiseArgs`] contract with this op, 8-bit `a`, f32 `out`; NEON.
#[target_feature(enable = "neon")]
pub unsafe fn dequantize<const SIGNED: bool>(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::Dequantize { zero_point, scale } = *args.op else { return };
    let (z, s) = (vdupq_n_s32(zero_point), vdupq_n_f32(scale));
    let mut at = 0;
    while at < args.n {
        let n = (args.n - at).min(16);
        // SAFETY: `n` bytes left in `a`; a local buffer, then `n` f32 left in `out`.
        unsafe {
            let x = widen::<SIGNED>(load16(args.a.add(at), n));
            let mut buf = [0f32; 16];
            for q in 0..4 {
                let y = vmulq_f32(vcvtq_f32_s32(vsubq_s32(x[q], z)), s);
                vst1q_f32(buf.as_mut_ptr().add(4 * q), y);
            }
            std::ptr::copy_nonoverlapping(buf.as_ptr().cast::<u8>(), args.out.add(4 * at), 4 * n);
        }
        at += n;
    }
}

/// Any 8-bit → 8-bit function as a 256-entry table ([`ElementwiseOp::Lookup`]): `tbl` over
/// the first 64 entries, then `tbx` over each next 64 with the index moved down by 64
/// (an index beyond a table leaves the lane as it was).
///
/// # Safety
/// The [`ElementwiseArgs`] contract with this op, 8-bit `a` and `out`; NEON.
#[target_feature(enable = "neon")]
pub unsafe fn lookup(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::Lookup { table } = *args.op else { return };
    // SAFETY: four 64-byte quarters of the 256-byte table.
    let t: [uint8x16x4_t; 4] =
        std::array::from_fn(|i| unsafe { vld1q_u8_x4(table.as_ptr().add(64 * i)) });
    let step = vdupq_n_u8(64);
    let mut at = 0;
    while at < args.n {
        let n = (args.n - at).min(16);
        // SAFETY: `n` bytes left in `a` and `out`.
        unsafe {
            let x = load16(args.a.add(at), n);
            let mut y = vqtbl4q_u8(t[0], x);
            let x1 = vsubq_u8(x, step);
            y = vqtbx4q_u8(y, t[1], x1);
            let x2 = vsubq_u8(x1, step);
            y = vqtbx4q_u8(y, t[2], x2);
            let x3 = vsubq_u8(x2, step);
            y = vqtbx4q_u8(y, t[3], x3);
            store16(args.out.add(at), y, n);
        }
        at += n;
    }
}

/// f32 `(r, c)` → quantized 8-bit `(c, r)` ([`TransposeConvert::Quantize`]): the input edge.
///
/// # Safety
/// The [`TransposeArgs`] contract with this conversion, f32 input, 8-bit output; NEON.
#[target_feature(enable = "neon")]
pub unsafe fn transpose_quantize_f32_to_8bit(args: &TransposeArgs<'_>) {
    let TransposeConvert::Quantize { scale, zero_point, lo, hi } = *args.convert else { return };
    let (s, z) = (vdupq_n_f32(scale), vdupq_n_f32(zero_point));
    let (vlo, vhi) = (vdupq_n_f32(lo), vdupq_n_f32(hi));
    let mut c0 = 0;
    while c0 < args.cols {
        let n = (args.cols - c0).min(4);
        for r in 0..args.rows {
            // SAFETY: row r holds `cols` f32; `c0 + n ≤ cols`.
            let x = unsafe { load_f32(args.src.add(4 * (r * args.src_stride + c0)), n) };
            let mut q = [0i32; 4];
            // SAFETY: a local array of 4 i32.
            unsafe { vst1q_s32(q.as_mut_ptr(), quantize_lanes(x, s, z, vlo, vhi)) };
            for (j, &v) in q.iter().enumerate().take(n) {
                // SAFETY: output element (c0 + j, r) is inside the block.
                unsafe { *args.dst.add((c0 + j) * args.dst_stride + r) = v as u8 };
            }
        }
        c0 += n;
    }
}
