//! The fused epilogue on ymm registers (8 lanes): the generic requantize (`lanes`) on one
//! register at a time, and AVX2 narrowing stores.

use std::arch::x86_64::*;

use qnn_ir::DType;
use qnn_ir::backend::{Epilogue, IndirectGemmArgs, RequantLanes, TileOutput};

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

/// Parameters of [`requant_f32`] and [`finish4`]: ONNX Runtime's f32 requantize to u8/i8
/// finished in saturating integer arithmetic, for kernels that keep a tile in registers.
///
/// The reference (ARCHITECTURE.md §4, [`RequantLanes::Float`]) is, per lane,
/// `out = clamp(f32(rne(f32(v) · m) + zp), min, max)`, every step in f32; this computes
///
/// ```text
/// p = f32(v) · m                    vcvtdq2ps, vmulps: the same two IEEE operations
/// r = vcvtps2dq(min(p, P))          P = 2^31 − 128, the largest f32 below 2^31
/// s = sat16(r)                      vpackssdw
/// t = sat16(s + zp)                 vpaddsw
/// b = sat_dtype(t)                  vpackuswb (u8) / vpacksswb (i8)
/// out = clamp(b, min, max)          vpmaxub/vpminub (signed forms for i8), only when the
///                                   fused clamp is narrower than the dtype
/// ```
///
/// Why the results are equal (the AVX-512 `x86-vnni` kernels finish the same way; there the
/// rounding mode is in the instruction). `vcvtps2dq` rounds by MXCSR, which Rust code never
/// changes from round-to-nearest-even — the mode the reference's `vmulps` assumes as well —
/// so for `−2^31 ≤ p ≤ P`, `r = q = rne(p)`. For `p > P`, i.e. `p ≥ 2^31`, `min` makes
/// `r = P`, beyond every bound upward, as `q + zp` is; for `p < −2^31` the conversion gives
/// `−2^31`, below every bound, as `q + zp` is (`p` is never NaN: `v` and `m` are finite).
/// The reference's `q + zp` is exact in f32 for `|q| < 2^24` and beyond ±(2^24 − 255)
/// otherwise, so it is `clamp(q + zp, min, max)` computed exactly. Each saturation clamps to
/// an interval that contains `[min, max]` widened by `|zp|` where needed: `r > 32767` gives
/// `t ≥ 32767 − 128 > max`, `r < −32768` gives `t ≤ −32768 + 255 < min`, else `s = r` and
/// `t = sat16(r + zp)`; clamping after a saturation to a range that contains `[min, max]`
/// equals clamping directly. The unit tests check it against the generic lanes code.
#[derive(Debug, Clone, Copy)]
pub struct NarrowF32 {
    zp16: __m256i,
    lo: __m256i,
    hi: __m256i,
    clamp: bool,
    signed: bool,
}

/// The largest f32 below 2^31.
const P_MAX: f32 = 2_147_483_520.0;

impl NarrowF32 {
    /// The parameters of `e` when its requantize is ONNX Runtime's f32 one with a u8 or i8
    /// output; `None` otherwise (the generic epilogue handles every other case).
    ///
    /// # Safety
    /// A target-feature function: callable without `unsafe` only where AVX2 is enabled.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn new(e: &Epilogue<'_>) -> Option<Self> {
        if !matches!(e.requant, RequantLanes::Float { .. }) {
            return None;
        }
        let signed = match e.out_dtype {
            DType::U8 => false,
            DType::I8 => true,
            _ => return None,
        };
        let (lo, hi) = if signed { (-128, 127) } else { (0, 255) };
        Some(NarrowF32 {
            zp16: _mm256_set1_epi16(e.zero_point as i16),
            lo: _mm256_set1_epi8(e.min as i8),
            hi: _mm256_set1_epi8(e.max as i8),
            clamp: e.min != lo || e.max != hi,
            signed,
        })
    }
}

/// `vcvtps2dq(min(f32(v) · m, P))`: the rounded product of 8 lanes (see [`NarrowF32`]).
///
/// # Safety
/// A target-feature function: callable without `unsafe` only where AVX2 is enabled.
#[inline]
#[target_feature(enable = "avx2")]
pub fn requant_f32(v: __m256i, mult: __m256) -> __m256i {
    let p = _mm256_mul_ps(_mm256_cvtepi32_ps(v), mult);
    _mm256_cvtps_epi32(_mm256_min_ps(p, _mm256_set1_ps(P_MAX)))
}

/// The integer finish of 4 registers of rounded products ([`requant_f32`]): 32 output
/// bytes, lanes of `r[0]`, then `r[1]`, `r[2]`, `r[3]`, in order.
///
/// # Safety
/// A target-feature function: callable without `unsafe` only where AVX2 is enabled.
#[inline]
#[target_feature(enable = "avx2")]
pub fn finish4(r: [__m256i; 4], p: &NarrowF32) -> __m256i {
    let ab = _mm256_adds_epi16(_mm256_packs_epi32(r[0], r[1]), p.zp16);
    let cd = _mm256_adds_epi16(_mm256_packs_epi32(r[2], r[3]), p.zp16);
    let mut b = if p.signed { _mm256_packs_epi16(ab, cd) } else { _mm256_packus_epi16(ab, cd) };
    if p.clamp {
        b = if p.signed {
            _mm256_min_epi8(_mm256_max_epi8(b, p.lo), p.hi)
        } else {
            _mm256_min_epu8(_mm256_max_epu8(b, p.lo), p.hi)
        };
    }
    // Per 128-bit lane L the packs leave dwords (r0, r1, r2, r3 lanes 4L..4L+4).
    _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epilogue::lanes::requantize;

    /// `requant_f32` + `finish4` on 32 lanes, against the generic f32 epilogue.
    #[target_feature(enable = "avx2")]
    fn fast(v: &[i32; 32], e: &Epilogue<'_>, mult: &[f32; 32]) -> [u8; 32] {
        let p = NarrowF32::new(e).expect("an f32 requantize to 8 bits");
        let r: [__m256i; 4] = std::array::from_fn(|q| {
            let v = reg(v[8 * q..][..8].try_into().unwrap());
            // SAFETY: 8 f32 of `mult`.
            let m = unsafe { _mm256_loadu_ps(mult[8 * q..].as_ptr()) };
            requant_f32(v, m)
        });
        // SAFETY: `__m256i` and `[u8; 32]` are both 32 plain bytes.
        unsafe { std::mem::transmute(finish4(r, &p)) }
    }

    #[test]
    fn the_integer_finish_equals_the_f32_epilogue() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("SKIPPED: no AVX2 on this CPU");
            return;
        }
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let edges = [i32::MIN, i32::MAX, 0, 1, -1, 255, -256, 1 << 24, -(1 << 24), 3, -3];
        for case in 0..400 {
            let mults = [0.5f32, 0.25, 1.0, 2.0, 3.0e38, 1.0e-3, 0.0173, 65_536.0, 1.0e9];
            let mult: [f32; 32] = std::array::from_fn(|_| mults[next() as usize % mults.len()]);
            let v: [i32; 32] = std::array::from_fn(|_| match next() % 4 {
                0 => edges[next() as usize % edges.len()],
                1 => next() as i32,
                _ => (next() % 2000) as i32 - 1000,
            });
            let (out_dtype, lo, hi) = match case % 4 {
                0 => (DType::U8, 0, 255),
                1 => (DType::I8, -128, 127),
                2 => (DType::U8, 10, 200),
                _ => (DType::I8, -5, 90),
            };
            let zp = [0, 128, 255, -128, 127, 5][case % 6].clamp(lo.min(0), hi.max(0));
            let zp = if out_dtype == DType::U8 { zp.max(0) } else { zp.min(127) };
            let e = Epilogue {
                bias: &[],
                t3_zero_point: None,
                requant: RequantLanes::Float { mult: &mult },
                zero_point: zp,
                min: lo,
                max: hi,
                out_dtype,
            };
            let want = requantize(&v, &e, 0).map(|x| x as u8);
            // SAFETY: AVX2 was detected above.
            let got = unsafe { fast(&v, &e, &mult) };
            assert_eq!(got, want, "case {case}: {v:?} × {mult:?}, zp {zp}, [{lo}, {hi}]");
        }
    }
}
