//! ONNX Runtime's f32 requantize to u8/i8 on zmm, finished in saturating integer arithmetic.
//!
//! The reference (ARCHITECTURE.md §4, `RequantLanes::Float`) is, per lane,
//!
//! ```text
//! out = clamp(f32(rne(f32(v) · m) + zp), min, max)          every step in f32
//! ```
//!
//! and this module computes
//!
//! ```text
//! p = f32(v) · m                    vcvtdq2ps, vmulps: the same two IEEE operations
//! r = vcvtps2dq{rn-sae}(min(p, P))  P = 2^31 − 128, the largest f32 below 2^31
//! s = sat16(r)                      vpackssdw
//! t = sat16(s + zp)                 vpaddsw
//! b = sat_dtype(t)                  vpackuswb (u8) / vpacksswb (i8)
//! out = clamp(b, min, max)          vpmaxub/vpminub (or the signed forms), only when the
//!                                   fused clamp is narrower than the dtype
//! ```
//!
//! about 4.5 µops per 16 lanes instead of 8 for the generic f32 code (which must clamp in
//! f32 before it can convert), on the ports `vpdpbusd` needs.
//!
//! Why the results are equal. Let `q = rne(p)`, exact as a real integer. Reference side: for
//! `|q| < 2^24`, `q + zp` is exact in f32; for `|q| ≥ 2^24` the f32 sum keeps `q`'s sign and
//! stays beyond ±(2^24 − 255), outside every bound (`[min, max] ⊆ [−128, 255]`, `|zp| ≤ 255`),
//! so the reference is `clamp(q + zp, min, max)` computed exactly. Kernel side:
//!
//! * conversion: the rounding is encoded in the instruction (`{rn-sae}`), independent of
//!   MXCSR. For `−2^31 ≤ p ≤ P`, `r = q` (in i32 range). For `p > P`, i.e. `p ≥ 2^31` (the next
//!   f32), `min` makes `r = P`; both sides then exceed every bound upward → `max`. For
//!   `p < −2^31`, `vcvtps2dq` returns the integer indefinite `0x8000_0000 = −2^31`; both sides
//!   are below every bound → `min`. `p` is never NaN (`v` and `m` are finite; `±∞` from an
//!   overflowing product follow the two cases above), so in every case
//!   `clamp(r + zp) = clamp(q + zp)`.
//! * saturations: `sat16`, the saturating add and `sat_dtype` each clamp to an interval that
//!   contains `[min, max]` widened by `|zp|` where needed: if `r > 32767`, `s = 32767` and
//!   `t ≥ 32767 − 128 > max`, as `r + zp > max`; if `r < −32768`, `t ≤ −32768 + 255 < min`,
//!   as `r + zp < min`; otherwise `s = r` and `t = sat16(r + zp)`. Clamping to `[a, b]` after
//!   saturating to a range `R ⊇ [a, b]` equals clamping directly, so
//!   `clamp(b, min, max) = clamp(r + zp, min, max)`.
//!
//! The unit tests below check this against the generic lanes code (itself tested against
//! the reference interpreter) on ties, both saturations, `i32::MIN/MAX` and huge multipliers.

use std::arch::x86_64::*;

use qnn_ir::DType;
use qnn_ir::backend::Epilogue;

/// The largest f32 below 2^31.
const P_MAX: f32 = 2_147_483_520.0;

/// Output parameters of the integer finish, made once per tile.
#[derive(Debug, Clone, Copy)]
pub struct NarrowParams {
    /// The output zero point in every i16 lane.
    zp16: __m512i,
    /// Clamp bounds in every byte (used only when `clamp` is set).
    lo: __m512i,
    hi: __m512i,
    clamp: bool,
    signed: bool,
}

impl NarrowParams {
    /// The parameters of `e`, whose output dtype is u8 or i8.
    ///
    /// # Safety
    /// A CPU with AVX-512 F/BW (inlined into a kernel that enables them).
    #[inline(always)]
    pub unsafe fn new(e: &Epilogue<'_>) -> Self {
        let signed = e.out_dtype == DType::I8;
        let (lo, hi) = if signed { (-128, 127) } else { (0, 255) };
        // SAFETY: register broadcasts; the caller provides AVX-512 F/BW.
        unsafe {
            NarrowParams {
                zp16: _mm512_set1_epi16(e.zero_point as i16),
                lo: _mm512_set1_epi8(e.min as i8),
                hi: _mm512_set1_epi8(e.max as i8),
                clamp: e.min != lo || e.max != hi,
                signed,
            }
        }
    }
}

/// `vcvtps2dq{rn-sae}(min(f32(v) · m, P))`: the rounded product, `−2^31` below the i32
/// range (see the module's proof).
///
/// # Safety
/// `mult` readable for 16 f32; AVX-512 F.
#[inline(always)]
unsafe fn round_product(v: __m512i, mult: *const f32) -> __m512i {
    // SAFETY: the caller's pointer and CPU features.
    unsafe {
        let p = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_loadu_ps(mult));
        let p = _mm512_min_ps(p, _mm512_set1_ps(P_MAX));
        _mm512_cvt_roundps_epi32::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(p)
    }
}

/// The integer finish of 4 registers of rounded products: 64 bytes, in the packs' order
/// (per 128-bit lane `L`: lanes `4L..4L+4` of `r[0]`, then of `r[1]`, `r[2]`, `r[3]`).
///
/// # Safety
/// AVX-512 F/BW.
#[inline(always)]
unsafe fn finish4(r: [__m512i; 4], p: &NarrowParams) -> __m512i {
    // SAFETY: register operations; the caller provides AVX-512 F/BW.
    unsafe {
        let ab = _mm512_adds_epi16(_mm512_packs_epi32(r[0], r[1]), p.zp16);
        let cd = _mm512_adds_epi16(_mm512_packs_epi32(r[2], r[3]), p.zp16);
        let mut b = if p.signed { _mm512_packs_epi16(ab, cd) } else { _mm512_packus_epi16(ab, cd) };
        if p.clamp {
            b = if p.signed {
                _mm512_min_epi8(_mm512_max_epi8(b, p.lo), p.hi)
            } else {
                _mm512_min_epu8(_mm512_max_epu8(b, p.lo), p.hi)
            };
        }
        b
    }
}

/// Requantizes and stores one GEMM row: `NV` registers of `v` (bias and T3 applied), channel
/// slots `0 .. 16·NV` with multipliers `mult`, the first `n` outputs written at `out`.
///
/// # Safety
/// `mult` readable for `16·NV` f32, `out` valid for `n ≤ 16·NV` bytes; AVX-512 F/BW.
#[inline(always)]
pub unsafe fn store_row<const NV: usize>(
    v: &[__m512i; NV],
    mult: *const f32,
    p: &NarrowParams,
    out: *mut u8,
    n: usize,
) {
    // SAFETY: the caller's pointers and CPU features; masks keep stores within `n`.
    unsafe {
        let zero = _mm512_setzero_si512();
        // Bytes of register j, lane 4L + i land at dword (L, j) of the packs; in order they
        // belong at dword 4j + L.
        let idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        for g in (0..NV).step_by(4) {
            let mut r = [zero; 4];
            for (k, x) in r.iter_mut().enumerate() {
                if g + k < NV {
                    *x = round_product(v[g + k], mult.add(16 * (g + k)));
                }
            }
            let bytes = _mm512_permutexvar_epi32(idx, finish4(r, p));
            let left = n.saturating_sub(16 * g).min(64);
            let ptr = out.add(16 * g);
            if left == 64 {
                _mm512_storeu_si512(ptr.cast(), bytes);
            } else if left > 0 {
                _mm512_mask_storeu_epi8(ptr.cast(), u64::MAX >> (64 - left), bytes);
            }
        }
    }
}

/// Requantizes one depthwise block of 4 registers in lane order (lane `i` of `v[j]` is
/// channel `4i + j`) and returns its 64 bytes in channel order.
///
/// # Safety
/// `mult` readable for 64 f32 (lane order); AVX-512 F/BW.
#[inline(always)]
pub unsafe fn block_bytes(v: &[__m512i; 4], mult: *const f32, p: &NarrowParams) -> __m512i {
    // SAFETY: the caller's pointer and CPU features.
    unsafe {
        let r = std::array::from_fn(|j| round_product(v[j], mult.add(16 * j)));
        // Per 128-bit lane the packs leave byte 4j + i' for channel 4i' + j (i' = i mod 4):
        // a 4 × 4 transpose inside each lane puts it at 4i' + j.
        let t = _mm512_broadcast_i32x4(_mm_setr_epi8(
            0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
        ));
        _mm512_shuffle_epi8(finish4(r, p), t)
    }
}

#[cfg(test)]
mod tests {
    use qnn_ir::RequantScale;
    use qnn_kernels::epilogue::lanes::requantize;
    use qnn_kernels::{EpilogueSpec, PreparedEpilogue};

    use super::*;

    fn usable() -> bool {
        super::super::probe().is_ok()
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    fn row(v: &[i32; 64], e: &Epilogue<'_>, mult: &[f32]) -> [u8; 64] {
        let mut out = [0u8; 64];
        // SAFETY: 64 values, 64 multipliers and 64 output bytes; the caller checked the CPU.
        unsafe {
            let regs: [__m512i; 4] = std::mem::transmute(*v);
            let p = NarrowParams::new(e);
            store_row::<4>(&regs, mult.as_ptr(), &p, out.as_mut_ptr(), 64);
        }
        out
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    fn block(v: &[i32; 64], e: &Epilogue<'_>, mult: &[f32]) -> [u8; 64] {
        // SAFETY: as in `row`.
        unsafe {
            let regs: [__m512i; 4] = std::mem::transmute(*v);
            let p = NarrowParams::new(e);
            std::mem::transmute(block_bytes(&regs, mult.as_ptr(), &p))
        }
    }

    /// Values that sit on rounding ties, at both saturations and at the i32 extremes.
    fn values(m: f32, seed: u64) -> Vec<i32> {
        let mut out = vec![i32::MIN, i32::MIN + 1, i32::MAX, i32::MAX - 1, 0, 1, -1];
        for k in -300i64..300 {
            // (k + 0.5) / m: a tie when it is an integer.
            let t = ((k as f64 + 0.5) / f64::from(m)).round();
            out.push(t.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32);
            out.push(k as i32);
        }
        let mut x = seed | 1;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push(x as i32 >> (x >> 59));
        }
        out
    }

    #[test]
    fn equal_to_the_generic_f32_epilogue() {
        if !usable() {
            eprintln!("SKIPPED: the CPU lacks AVX-512 BW");
            return;
        }
        let mults =
            [0.5f32, 0.25, 1.0, 2.0, 0.001_234, 3.0e-7, 0.999_999_9, 65536.0, 1.0e9, 3.0e38];
        for (dtype, zps) in [(DType::U8, [0, 1, 128, 255]), (DType::I8, [-128, -1, 0, 127])] {
            for &zp in &zps {
                for clamp in [None, Some(if dtype == DType::U8 { (3, 200) } else { (-5, 90) })] {
                    for (mi, &m) in mults.iter().enumerate() {
                        // Per-channel multipliers: this one and its neighbours.
                        let ms: Vec<f32> =
                            (0..64).map(|c| mults[(mi + c % 3) % mults.len()]).collect();
                        let spec = EpilogueSpec {
                            bias: vec![0],
                            t3_zero_point: None,
                            requant: Some(RequantScale::Float { mults: ms.clone() }),
                            input_zero_point: 0,
                            out_dtype: dtype,
                            zero_point: zp,
                            clamp,
                        };
                        let prepared = PreparedEpilogue::new(&spec, 64, 0).unwrap();
                        let e = prepared.view(0);
                        let vals = values(m, mi as u64 + 7);
                        for chunk in vals.chunks(64) {
                            let mut v = [0i32; 64];
                            for (i, x) in v.iter_mut().enumerate() {
                                *x = chunk[i % chunk.len()];
                            }
                            let want = requantize(&v, &e, 0).map(|x| x as u8);
                            // SAFETY: AVX-512 checked above.
                            let got = unsafe { row(&v, &e, &ms) };
                            assert_eq!(got, want, "row, {dtype} zp {zp} clamp {clamp:?} m {m}");
                            // Depthwise lane order: lane i of register j is channel 4i + j.
                            let mut lanes = [0i32; 64];
                            let mut lm = [0f32; 64];
                            for c in 0..64 {
                                lanes[16 * (c % 4) + c / 4] = v[c];
                                lm[16 * (c % 4) + c / 4] = ms[c];
                            }
                            // SAFETY: as above.
                            let got = unsafe { block(&lanes, &e, &lm) };
                            assert_eq!(got, want, "block, {dtype} zp {zp} clamp {clamp:?} m {m}");
                        }
                    }
                }
            }
        }
    }
}
