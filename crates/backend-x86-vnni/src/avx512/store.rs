//! Writing epilogue results from zmm registers: the requantize step runs on one register's
//! 16 lanes at a time (the generic `lanes` code, which LLVM keeps in that register), and
//! the clamped results are narrowed and stored here with AVX-512 instructions.

use std::arch::x86_64::*;

use qnn_ir::DType;
use qnn_ir::backend::Epilogue;
use qnn_kernels::epilogue::lanes::{requantize, requantize_as, sub_t3_lanes, sub_t3_row};

/// The lanes of a register as an array (same size, every bit pattern valid).
#[inline(always)]
pub fn lanes(v: __m512i) -> [i32; 16] {
    // SAFETY: `__m512i` and `[i32; 16]` are both 64 plain bytes.
    unsafe { std::mem::transmute(v) }
}

/// An array as a register.
#[inline(always)]
pub fn reg(a: [i32; 16]) -> __m512i {
    // SAFETY: as in `lanes`.
    unsafe { std::mem::transmute(a) }
}

/// Requantizes a row of `NV` registers of accumulators (bias already added), channel slots
/// `0 .. NR`, subtracting the T3 term `t3[l] · sum` when given. The generic code runs on the
/// whole row (`NR = 16 · NV` lanes): a loop LLVM vectorizes into full zmm operations (a
/// single register's 16 lanes get unrolled and then vectorized piecemeal instead).
#[inline(always)]
pub fn requant_row<const NV: usize, const NR: usize, const M: u8>(
    acc: &[__m512i; NV],
    e: &Epilogue<'_>,
    row_sum: Option<i32>,
) -> [__m512i; NV] {
    const { assert!(NR == 16 * NV) };
    // SAFETY: NV registers are exactly NR plain i32.
    let mut v: [i32; NR] = unsafe { std::mem::transmute_copy(acc) };
    if let (Some(t3), Some(s)) = (e.t3_zero_point, row_sum) {
        sub_t3_row(&mut v, t3, 0, s);
    }
    let o = requantize_as::<NR, M>(&v, e, 0);
    // SAFETY: as above.
    unsafe { std::mem::transmute_copy(&o) }
}

/// Requantizes one block of 4 registers (64 lanes, depthwise lane order) at slot `at`, with
/// one window sum per lane for the T3 term when given.
#[inline(always)]
pub fn requant_block(
    acc: &[__m512i; 4],
    e: &Epilogue<'_>,
    at: usize,
    sums: Option<&[__m512i; 4]>,
) -> [__m512i; 4] {
    // SAFETY: 4 registers are exactly 64 plain i32.
    let mut v: [i32; 64] = unsafe { std::mem::transmute_copy(acc) };
    if let (Some(t3), Some(s)) = (e.t3_zero_point, sums) {
        // SAFETY: as above.
        let s: [i32; 64] = unsafe { std::mem::transmute_copy(s) };
        sub_t3_lanes(&mut v, t3, at, &s);
    }
    let o = requantize(&v, e, at);
    // SAFETY: as above.
    unsafe { std::mem::transmute_copy(&o) }
}

/// Narrows 4 registers of u8/i8-range i32 values (64 values in order) to 64 bytes in order.
/// The saturating packs never saturate (the values are already clamped), so they are exact.
///
///
/// # Safety
/// A target-feature function: callable without `unsafe` only where AVX-512 F/BW is enabled.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub fn narrow4(v: [__m512i; 4], signed: bool) -> __m512i {
    let ab = _mm512_packs_epi32(v[0], v[1]);
    let cd = _mm512_packs_epi32(v[2], v[3]);
    let bytes = if signed { _mm512_packs_epi16(ab, cd) } else { _mm512_packus_epi16(ab, cd) };
    // Per 128-bit lane L the packs leave dwords (a_L, b_L, c_L, d_L), 4 bytes each;
    // gather them back as a_0..a_3, b_0..b_3, c_0..c_3, d_0..d_3.
    let idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    _mm512_permutexvar_epi32(idx, bytes)
}

/// Stores the first `n ≤ 16·NV` values of `NV` registers of results at `out` as `dtype`.
///
/// # Safety
/// `out` valid for `n` elements; AVX-512 F/BW.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn store_row<const NV: usize>(r: &[__m512i; NV], dtype: DType, out: *mut u8, n: usize) {
    // SAFETY: the caller's pointer and CPU features; masks keep stores within `n`.
    unsafe {
        if dtype == DType::I32 {
            for (j, v) in r.iter().enumerate() {
                let left = n.saturating_sub(16 * j).min(16);
                let mask = ((1u32 << left) - 1) as u16;
                _mm512_mask_storeu_epi32(out.add(64 * j).cast(), mask, *v);
            }
            return;
        }
        let signed = dtype == DType::I8;
        let zero = _mm512_setzero_si512();
        for g in (0..NV).step_by(4) {
            let mut four = [zero; 4];
            for (k, f) in four.iter_mut().enumerate() {
                if g + k < NV {
                    *f = r[g + k];
                }
            }
            let bytes = narrow4(four, signed);
            let left = n.saturating_sub(16 * g).min(64);
            let ptr = out.add(16 * g);
            if left == 64 {
                _mm512_storeu_si512(ptr.cast(), bytes);
            } else {
                let mask = if left == 0 { 0 } else { u64::MAX >> (64 - left) };
                _mm512_mask_storeu_epi8(ptr.cast(), mask, bytes);
            }
        }
    }
}
