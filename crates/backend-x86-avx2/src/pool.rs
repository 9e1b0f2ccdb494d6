//! Pooling windows on NHWC data (the contract: `qnn_ir::backend::PoolArgs`): channels are
//! contiguous, so every op runs along the channels of a pixel, 32 bytes (max), 8 lanes of
//! f32 (average) or i32 (sum) at a time, cell after cell in window order. Channel tails
//! go through a small stack copy, so no load or store leaves the pixel.

use std::arch::x86_64::*;

use qnn_ir::backend::{PoolArgs, PoolOp};

/// The cell pointers of output pixel `p`.
///
/// # Safety
/// `args.cells` holds `pixels × taps` pointers.
#[inline(always)]
unsafe fn cells<'a>(args: &'a PoolArgs<'_>, p: usize) -> &'a [*const u8] {
    // SAFETY: the caller's contract: `pixels × taps` pointers, pixel-major.
    unsafe { std::slice::from_raw_parts(args.cells.add(p * args.taps), args.taps) }
}

/// `n ≤ 32` bytes at `src` as a register (the rest zero): a tail that must not be read past.
///
/// # Safety
/// `src` valid for `n` bytes; AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load_partial(src: *const u8, n: usize) -> __m256i {
    let mut buf = [0u8; 32];
    // SAFETY: `n ≤ 32` readable bytes at `src`, a 32-byte local buffer.
    unsafe {
        std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), n);
        _mm256_loadu_si256(buf.as_ptr().cast())
    }
}

/// The first `n ≤ 32` bytes of `v` to `dst`.
///
/// # Safety
/// `dst` valid for `n` bytes; AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store_partial(dst: *mut u8, v: __m256i, n: usize) {
    let mut buf = [0u8; 32];
    // SAFETY: a 32-byte local buffer, `n ≤ 32` writable bytes at `dst`.
    unsafe {
        _mm256_storeu_si256(buf.as_mut_ptr().cast(), v);
        std::ptr::copy_nonoverlapping(buf.as_ptr(), dst, n);
    }
}

/// Max of u8 (`SIGNED = false`) or i8 cells: `vpmaxub`/`vpmaxsb` over the window.
///
/// # Safety
/// The [`PoolArgs`] contract with [`PoolOp::Max`] and 8-bit elements; a CPU with AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn max_8bit<const SIGNED: bool>(args: &PoolArgs<'_>) {
    let max = |a: __m256i, b: __m256i| {
        if SIGNED { _mm256_max_epi8(a, b) } else { _mm256_max_epu8(a, b) }
    };
    let c = args.channels;
    for p in 0..args.pixels {
        // SAFETY: the contract's pointer table.
        let cells = unsafe { cells(args, p) };
        // SAFETY: output pixel p holds `channels` elements at `p · out_stride`.
        let out = unsafe { args.out.add(p * args.out_stride) };
        let mut at = 0;
        while at + 32 <= c {
            // SAFETY: every cell is valid for `channels` bytes; `at + 32 ≤ channels`.
            unsafe {
                let mut acc = _mm256_loadu_si256(cells[0].add(at).cast());
                for &cell in &cells[1..] {
                    acc = max(acc, _mm256_loadu_si256(cell.add(at).cast()));
                }
                _mm256_storeu_si256(out.add(at).cast(), acc);
            }
            at += 32;
        }
        if at < c {
            let n = c - at;
            // SAFETY: `n` bytes left in every cell and in the output pixel.
            unsafe {
                let mut acc = load_partial(cells[0].add(at), n);
                for &cell in &cells[1..] {
                    acc = max(acc, load_partial(cell.add(at), n));
                }
                store_partial(out.add(at), acc, n);
            }
        }
    }
}

/// 8 elements at `src` widened to i32 lanes (`n ≤ 8` of them; the rest zero).
///
/// # Safety
/// `src` valid for `n` bytes; AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn widen8<const SIGNED: bool>(src: *const u8, n: usize) -> __m256i {
    // SAFETY: 8 readable bytes when `n == 8`, else a local copy of the `n` there are.
    let bytes = unsafe {
        if n == 8 {
            _mm_loadl_epi64(src.cast())
        } else {
            let mut buf = [0u8; 16];
            std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), n);
            _mm_loadu_si128(buf.as_ptr().cast())
        }
    };
    if SIGNED { _mm256_cvtepi8_epi32(bytes) } else { _mm256_cvtepu8_epi32(bytes) }
}

/// ONNX Runtime's `QLinearAveragePool` in f32 ([`PoolOp::AverageF32`]): per cell
/// `sum += f32(x − zp) · scale_in` (a product, then a sum: two roundings, as the reference),
/// then `/ count / scale_out + zp_out`, round half to even, NaN → 0, clamp.
///
/// # Safety
/// The [`PoolArgs`] contract with [`PoolOp::AverageF32`] and 8-bit elements; AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn average_f32_8bit<const SIGNED: bool>(args: &PoolArgs<'_>) {
    let PoolOp::AverageF32 { zp_in, scale_in, scale_out, zp_out, lo, hi } = *args.op else {
        return;
    };
    let (zp, s_in, s_out, z_out) = (
        _mm256_set1_epi32(zp_in),
        _mm256_set1_ps(scale_in),
        _mm256_set1_ps(scale_out),
        _mm256_set1_ps(zp_out),
    );
    let (vlo, vhi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
    let c = args.channels;
    for p in 0..args.pixels {
        // SAFETY: the contract's pointer table.
        let cells = unsafe { cells(args, p) };
        let count = _mm256_set1_ps(args.counts[p]);
        // SAFETY: output pixel p holds `channels` elements at `p · out_stride`.
        let out = unsafe { args.out.add(p * args.out_stride) };
        let mut at = 0;
        while at < c {
            let n = (c - at).min(8);
            let mut sum = _mm256_setzero_ps();
            for &cell in cells {
                // SAFETY: `n` bytes left in the cell.
                let x = unsafe { widen8::<SIGNED>(cell.add(at), n) };
                let real = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(x, zp)), s_in);
                sum = _mm256_add_ps(sum, real);
            }
            let v = _mm256_add_ps(_mm256_div_ps(_mm256_div_ps(sum, count), s_out), z_out);
            let r = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
            // NaN → 0 (the cast's rule); `max`/`min` return their second operand on NaN, so
            // clamp first, then blend the NaN lanes to zero.
            let clamped = _mm256_min_ps(_mm256_max_ps(r, vlo), vhi);
            let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(r, r);
            let y = _mm256_cvtps_epi32(_mm256_andnot_ps(nan, clamped));
            // SAFETY: `n` output elements left in the pixel.
            unsafe { store_narrow::<SIGNED>(out.add(at), y, n) };
            at += n;
        }
    }
}

/// The first `n ≤ 8` i32 lanes of `y` (values of the 8-bit dtype) as bytes at `dst`.
///
/// # Safety
/// `dst` valid for `n` bytes; AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store_narrow<const SIGNED: bool>(dst: *mut u8, y: __m256i, n: usize) {
    // i32 → i16 → 8-bit, never saturating (the values are in range); the packs work per
    // 128-bit half, so the dwords are put back in order after.
    let w = _mm256_packs_epi32(y, y);
    let b = if SIGNED { _mm256_packs_epi16(w, w) } else { _mm256_packus_epi16(w, w) };
    let b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));
    let v = _mm256_extract_epi64::<0>(b).to_le_bytes();
    // SAFETY: `n ≤ 8` writable bytes at `dst`.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), dst, n) };
}

/// The exact integer sum over the cells into i32 ([`PoolOp::SumI32`]).
///
/// # Safety
/// The [`PoolArgs`] contract with [`PoolOp::SumI32`], 8-bit elements, i32 output; AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn sum_i32_8bit<const SIGNED: bool>(args: &PoolArgs<'_>) {
    let c = args.channels;
    for p in 0..args.pixels {
        // SAFETY: the contract's pointer table.
        let cells = unsafe { cells(args, p) };
        // SAFETY: output pixel p holds `channels` i32 elements at `p · out_stride`.
        let out = unsafe { args.out.add(4 * p * args.out_stride) };
        let mut at = 0;
        while at < c {
            let n = (c - at).min(8);
            let mut sum = _mm256_setzero_si256();
            for &cell in cells {
                // SAFETY: `n` bytes left in the cell.
                sum = _mm256_add_epi32(sum, unsafe { widen8::<SIGNED>(cell.add(at), n) });
            }
            // SAFETY: `n` i32 elements left in the output pixel.
            unsafe {
                if n == 8 {
                    _mm256_storeu_si256(out.add(4 * at).cast(), sum);
                } else {
                    let a: [i32; 8] = std::mem::transmute(sum);
                    std::ptr::copy_nonoverlapping(a.as_ptr().cast::<u8>(), out.add(4 * at), 4 * n);
                }
            }
            at += n;
        }
    }
}
