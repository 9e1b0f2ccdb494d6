//! Element-wise kernels on contiguous runs (the contract: `qnn_ir::backend::ElementwiseArgs`),
//! 8 lanes of f32 at a time, each IEEE operation of the formula in the same order as the
//! reference (`_mm256_fmadd_ps` is the fused multiply-add the reference's `mul_add` is).
//! A tail of fewer than 8 elements goes through a stack copy.

use std::arch::x86_64::*;

use qnn_ir::backend::{ElementwiseArgs, ElementwiseOp};

/// `n ≤ 8` 8-bit elements at `src` as i32 lanes (the rest zero).
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

/// The first `n ≤ 8` i32 lanes of `y` (values of the 8-bit dtype) as bytes at `dst`.
///
/// # Safety
/// `dst` valid for `n` bytes; AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store_narrow<const SIGNED: bool>(dst: *mut u8, y: __m256i, n: usize) {
    // Never saturating: the values are in range. The packs work per 128-bit half; the
    // permute puts the two dwords of bytes back in order.
    let w = _mm256_packs_epi32(y, y);
    let b = if SIGNED { _mm256_packs_epi16(w, w) } else { _mm256_packus_epi16(w, w) };
    let b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));
    let v = _mm256_extract_epi64::<0>(b).to_le_bytes();
    // SAFETY: `n ≤ 8` writable bytes at `dst`.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), dst, n) };
}

/// Round half to even, then NaN → `nan_to`, then clamp to `[lo, hi]`, as i32 lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn finish(v: __m256, lo: __m256, hi: __m256, nan_to: __m256) -> __m256i {
    let r = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
    let clamped = _mm256_min_ps(_mm256_max_ps(r, lo), hi);
    let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(r, r);
    _mm256_cvtps_epi32(_mm256_blendv_ps(clamped, nan_to, nan))
}

/// ONNX Runtime's `QLinearAdd` ([`ElementwiseOp::QLinearAdd`]):
/// `clamp(rne(fma(f32(a), ma, fma(f32(b), mb, c))))`, both operands of one 8-bit dtype.
///
/// # Safety
/// The [`ElementwiseArgs`] contract with this op, 8-bit `a`, `b` and `out`; AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn qlinear_add<const SIGNED: bool>(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::QLinearAdd { ma, mb, c, lo, hi } = *args.op else { return };
    let (ma, mb, c) = (_mm256_set1_ps(ma), _mm256_set1_ps(mb), _mm256_set1_ps(c));
    let (lo, hi, zero) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi), _mm256_setzero_ps());
    let mut at = 0;
    while at < args.n {
        let n = (args.n - at).min(8);
        // SAFETY: `n` elements left in `a`, `b` and `out`.
        unsafe {
            let a = _mm256_cvtepi32_ps(widen8::<SIGNED>(args.a.add(at), n));
            let b = _mm256_cvtepi32_ps(widen8::<SIGNED>(args.b.add(at), n));
            let v = _mm256_fmadd_ps(a, ma, _mm256_fmadd_ps(b, mb, c));
            // Finite operands and multipliers: no NaN arises; the blend keeps the rule.
            store_narrow::<SIGNED>(args.out.add(at), finish(v, lo, hi, zero), n);
        }
        at += n;
    }
}

/// ONNX Runtime's `QuantizeLinear` of f32 ([`ElementwiseOp::Quantize`]):
/// `NaN ? lo : clamp(rne(x / scale) + zero_point)` (a division, not a multiplication by
/// the reciprocal: the bits differ).
///
/// # Safety
/// The [`ElementwiseArgs`] contract with this op, f32 `a`, 8-bit `out`; AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn quantize<const SIGNED: bool>(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::Quantize { scale, zero_point, lo, hi } = *args.op else { return };
    let (s, z) = (_mm256_set1_ps(scale), _mm256_set1_ps(zero_point));
    let (vlo, vhi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
    let mut at = 0;
    while at < args.n {
        let n = (args.n - at).min(8);
        // SAFETY: `n` f32 left in `a`, `n` bytes in `out`.
        unsafe {
            let x = load_f32(args.a.add(4 * at), n);
            let q = quantize_lanes(x, s, z, vlo, vhi);
            store_narrow::<SIGNED>(args.out.add(at), q, n);
        }
        at += n;
    }
}

/// `NaN ? lo : clamp(rne(x / s) + z, lo, hi)` on 8 lanes, as i32.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn quantize_lanes(x: __m256, s: __m256, z: __m256, lo: __m256, hi: __m256) -> __m256i {
    let r =
        _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_div_ps(x, s));
    // `r + z` of an integral `r` is integral or ±∞ (or NaN): the second rounding is exact.
    finish(_mm256_add_ps(r, z), lo, hi, lo)
}

/// `n ≤ 8` f32 at `src` (the rest zero).
///
/// # Safety
/// `src` valid for `4 · n` bytes; AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn load_f32(src: *const u8, n: usize) -> __m256 {
    // SAFETY: 32 readable bytes when `n == 8`, else a local copy of the `4n` there are.
    unsafe {
        if n == 8 {
            _mm256_loadu_ps(src.cast())
        } else {
            let mut buf = [0f32; 8];
            std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr().cast(), 4 * n);
            _mm256_loadu_ps(buf.as_ptr())
        }
    }
}

/// `DequantizeLinear` of 8-bit data ([`ElementwiseOp::Dequantize`]):
/// `f32(x − zero_point) · scale`.
///
/// # Safety
/// The [`ElementwiseArgs`] contract with this op, 8-bit `a`, f32 `out`; AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn dequantize<const SIGNED: bool>(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::Dequantize { zero_point, scale } = *args.op else { return };
    let (z, s) = (_mm256_set1_epi32(zero_point), _mm256_set1_ps(scale));
    let mut at = 0;
    while at < args.n {
        let n = (args.n - at).min(8);
        // SAFETY: `n` bytes left in `a`, `n` f32 in `out`.
        unsafe {
            let x = widen8::<SIGNED>(args.a.add(at), n);
            let y = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(x, z)), s);
            store_f32(args.out.add(4 * at), y, n);
        }
        at += n;
    }
}

/// The first `n ≤ 8` lanes of `y` to `dst`.
///
/// # Safety
/// `dst` valid for `4 · n` bytes; AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn store_f32(dst: *mut u8, y: __m256, n: usize) {
    // SAFETY: 32 writable bytes when `n == 8`, else the `4n` there are, from a local copy.
    unsafe {
        if n == 8 {
            _mm256_storeu_ps(dst.cast(), y);
        } else {
            let mut buf = [0f32; 8];
            _mm256_storeu_ps(buf.as_mut_ptr(), y);
            std::ptr::copy_nonoverlapping(buf.as_ptr().cast::<u8>(), dst, 4 * n);
        }
    }
}

/// Any 8-bit → 8-bit function as a 256-entry table ([`ElementwiseOp::Lookup`]): the low
/// nibble of each byte indexes sixteen 16-byte rows with `vpshufb`, the high nibble picks the
/// row (16 compares and blends per 32 bytes: about twice a scalar lookup's speed, and no
/// load port per byte).
///
/// # Safety
/// The [`ElementwiseArgs`] contract with this op, 8-bit `a` and `out`; AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn lookup(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::Lookup { table } = *args.op else { return };
    // Row `h` of the table in both 128-bit halves (`vpshufb` indexes within a half).
    let rows: [__m256i; 16] = std::array::from_fn(|h| {
        // SAFETY: 16 bytes of the 256-byte table.
        let row = unsafe { _mm_loadu_si128(table.as_ptr().add(16 * h).cast()) };
        _mm256_broadcastsi128_si256(row)
    });
    let low = _mm256_set1_epi8(0x0f);
    let mut at = 0;
    while at < args.n {
        let n = (args.n - at).min(32);
        let mut buf = [0u8; 32];
        // SAFETY: 32 readable bytes when `n == 32`, else a local copy of the `n` there are.
        let x = unsafe {
            if n == 32 {
                _mm256_loadu_si256(args.a.add(at).cast())
            } else {
                std::ptr::copy_nonoverlapping(args.a.add(at), buf.as_mut_ptr(), n);
                _mm256_loadu_si256(buf.as_ptr().cast())
            }
        };
        let lo = _mm256_and_si256(x, low);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), low);
        let mut y = _mm256_setzero_si256();
        for (h, row) in rows.iter().enumerate() {
            let pick = _mm256_cmpeq_epi8(hi, _mm256_set1_epi8(h as i8));
            y = _mm256_blendv_epi8(y, _mm256_shuffle_epi8(*row, lo), pick);
        }
        // SAFETY: 32 writable bytes when `n == 32`, else the `n` there are, from a copy.
        unsafe {
            if n == 32 {
                _mm256_storeu_si256(args.out.add(at).cast(), y);
            } else {
                _mm256_storeu_si256(buf.as_mut_ptr().cast(), y);
                std::ptr::copy_nonoverlapping(buf.as_ptr(), args.out.add(at), n);
            }
        }
        at += n;
    }
}
