//! The fused epilogue on ymm registers (8 lanes): the generic requantize (`lanes`) on one
//! register at a time, and AVX2 narrowing stores.

use std::arch::x86_64::*;

use qnn_ir::DType;
use qnn_ir::backend::{Epilogue, IndirectGemmArgs, TileOutput};

use crate::epilogue::lanes::{requantize, sub_t3_lanes, sub_t3_row};

/// The lanes of a register as an array.
#[inline(always)]
pub fn lanes(v: __m256i) -> [i32; 8] {
    // SAFETY: `__m256i` and `[i32; 8]` are both 32 plain bytes.
    unsafe { std::mem::transmute(v) }
}

/// An array as a register.
#[inline(always)]
pub fn reg(a: [i32; 8]) -> __m256i {
    // SAFETY: as in `lanes`.
    unsafe { std::mem::transmute(a) }
}

/// Requantizes a row of `NV` registers (bias already added), channel slots `at .. at + NR`
/// (`NR = 8 · NV`), subtracting `t3[at + l] · sum` when a row sum is given. The generic
/// code runs on the whole row at once: a loop LLVM vectorizes into full ymm operations.
#[inline(always)]
pub fn requant_row<const NV: usize, const NR: usize>(
    acc: &[__m256i; NV],
    e: &Epilogue<'_>,
    at: usize,
    row_sum: Option<i32>,
) -> [__m256i; NV] {
    const { assert!(NR == 8 * NV) };
    // SAFETY: NV registers are exactly NR plain i32.
    let mut v: [i32; NR] = unsafe { std::mem::transmute_copy(acc) };
    if let (Some(t3), Some(s)) = (e.t3_zero_point, row_sum) {
        sub_t3_row(&mut v, t3, at, s);
    }
    let o = requantize(&v, e, at);
    // SAFETY: as above.
    unsafe { std::mem::transmute_copy(&o) }
}

/// The same with one window sum per lane (depthwise).
#[inline(always)]
pub fn requant_lanes<const NV: usize, const NR: usize>(
    acc: &[__m256i; NV],
    e: &Epilogue<'_>,
    at: usize,
    sums: Option<&[__m256i; NV]>,
) -> [__m256i; NV] {
    const { assert!(NR == 8 * NV) };
    // SAFETY: NV registers are exactly NR plain i32.
    let mut v: [i32; NR] = unsafe { std::mem::transmute_copy(acc) };
    if let (Some(t3), Some(s)) = (e.t3_zero_point, sums) {
        // SAFETY: as above.
        let s: [i32; NR] = unsafe { std::mem::transmute_copy(s) };
        sub_t3_lanes(&mut v, t3, at, &s);
    }
    let o = requantize(&v, e, at);
    // SAFETY: as above.
    unsafe { std::mem::transmute_copy(&o) }
}

/// Narrows 4 registers of u8/i8-range values (32 in order) to 32 bytes in order. The
/// saturating packs never saturate: the values are already clamped.
///
///
/// # Safety
/// A target-feature function: callable without `unsafe` only where AVX2 is enabled.
#[inline]
#[target_feature(enable = "avx2")]
pub fn narrow4(v: [__m256i; 4], signed: bool) -> __m256i {
    let ab = _mm256_packs_epi32(v[0], v[1]);
    let cd = _mm256_packs_epi32(v[2], v[3]);
    let bytes = if signed { _mm256_packs_epi16(ab, cd) } else { _mm256_packus_epi16(ab, cd) };
    // Per 128-bit lane L the packs leave dwords (a_L, b_L, c_L, d_L).
    _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

/// Stores the first `n ≤ 8·NV` values of `NV` registers of results at `out` as `dtype`.
///
/// # Safety
/// `out` valid for `n` elements; AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn store_row<const NV: usize>(r: &[__m256i; NV], dtype: DType, out: *mut u8, n: usize) {
    // SAFETY: the caller's pointer and CPU features; partial stores go through a local copy.
    unsafe {
        if dtype == DType::I32 {
            for (j, v) in r.iter().enumerate() {
                let left = n.saturating_sub(8 * j).min(8);
                let ptr = out.add(32 * j);
                if left == 8 {
                    _mm256_storeu_si256(ptr.cast(), *v);
                } else if left > 0 {
                    let a = lanes(*v);
                    std::ptr::copy_nonoverlapping(a.as_ptr().cast::<u8>(), ptr, 4 * left);
                }
            }
            return;
        }
        let signed = dtype == DType::I8;
        let zero = _mm256_setzero_si256();
        for g in (0..NV).step_by(4) {
            let mut four = [zero; 4];
            for (k, f) in four.iter_mut().enumerate() {
                if g + k < NV {
                    *f = r[g + k];
                }
            }
            let bytes = narrow4(four, signed);
            let left = n.saturating_sub(8 * g).min(32);
            let ptr = out.add(8 * g);
            if left == 32 {
                _mm256_storeu_si256(ptr.cast(), bytes);
            } else if left > 0 {
                let a: [u8; 32] = std::mem::transmute(bytes);
                std::ptr::copy_nonoverlapping(a.as_ptr(), ptr, left);
            }
        }
    }
}

/// Writes a finished tile: raw i32, or through the fused epilogue.
///
/// # Safety
/// The output pointers of `args` follow the contract; AVX2 (inlined into the kernels).
/// Shared by every ymm GEMM kernel (AVX2 and AVX-VNNI).
// Indexed row loops with constant bounds: they unroll and `acc` stays in registers.
#[allow(clippy::needless_range_loop)]
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn store_tile<const MR: usize, const NV: usize, const NR: usize>(
    acc: [[__m256i; NV]; MR],
    args: &IndirectGemmArgs<'_>,
) {
    match args.out {
        TileOutput::Raw { c, row_stride } => {
            // Constant bounds (the loop unrolls and `acc` stays in registers); rows ≥ m
            // are not written.
            for i in 0..MR {
                if i >= args.m {
                    break;
                }
                let row = acc[i];
                // SAFETY: row i of the tile is valid for n i32 elements.
                unsafe { store_row(&row, DType::I32, c.add(i * row_stride).cast(), args.n) };
            }
        }
        TileOutput::Fused { epilogue: e, row_sums, out, row_stride } => {
            let size = e.out_dtype.size_bytes();
            for i in 0..MR {
                if i >= args.m {
                    break;
                }
                let r = requant_row::<NV, NR>(&acc[i], e, 0, row_sums.map(|s| s[i]));
                // SAFETY: row i of the output tile is valid for n elements.
                unsafe { store_row(&r, e.out_dtype, out.add(i * row_stride * size), args.n) };
            }
        }
    }
}
