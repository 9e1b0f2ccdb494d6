//! SSE indirect GEMM on `pmaddwd`: i16 × i16 pairs summed into i32, 128 bits wide.
//!
//! Tile `MR × 4·NV`, `kr = 2`: per k step of 2, `NV` weight vectors (4 columns × 2 k each)
//! are loaded, each row's 2 data values (4 bytes) are broadcast, and `MR · NV` pairs of
//! `pmaddwd` + `paddd` accumulate. x86-64 has 16 xmm registers: the 4×8 tile keeps 8
//! accumulators, 2 weight vectors, the broadcast and the product in registers.
//!
//! Range: `pmaddwd` forms `d0·w0 + d1·w1` exactly except for (−32768)² · 2, which wraps to
//! −2^31 — the same bits as the wrapping i32 sum, so every lane is exact mod 2^32, and the
//! frame's accumulator-range proof makes the final value exact. The int8 path reaches this
//! kernel through the frame's exact widening of u8/s8 operands to i16, so no saturating
//! instruction (`pmaddubsw`) is ever involved.
//!
//! The epilogue (bias, T3 term, requantize, clamp) is qnn-kernels' generic one
//! ([`lanes::gemm_tile`]), inlined here under SSE4.1.

use std::arch::x86_64::*;

use qnn_ir::backend::IndirectGemmArgs;
use qnn_kernels::epilogue::lanes;

/// One tile of `MR` rows × `NR = 4 · NV` columns.
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kr = 2` and i16 operands, and a CPU with SSE4.1.
#[target_feature(enable = "sse4.1,ssse3")]
pub unsafe fn gemm_i16<const MR: usize, const NV: usize, const NR: usize>(
    args: &IndirectGemmArgs<'_>,
) {
    let mut acc = [[_mm_setzero_si128(); NV]; MR];
    let mut b = args.b.cast::<__m128i>();
    for t in 0..args.taps {
        // SAFETY: `a` holds taps × MR row pointers.
        let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
        let mut k = 0;
        while k < args.kc {
            let mut bv = [_mm_setzero_si128(); NV];
            for (j, v) in bv.iter_mut().enumerate() {
                // SAFETY: the panel holds taps · kc / 2 blocks of NV vectors.
                *v = unsafe { _mm_loadu_si128(b.add(j)) };
            }
            for (row, acc_row) in rows.iter().zip(acc.iter_mut()) {
                // SAFETY: each row holds kc ≥ k + 2 i16 elements.
                let a = unsafe { row.add(2 * k).cast::<i32>().read_unaligned() };
                let a = _mm_set1_epi32(a);
                for (acc_ij, w) in acc_row.iter_mut().zip(&bv) {
                    *acc_ij = _mm_add_epi32(*acc_ij, _mm_madd_epi16(a, *w));
                }
            }
            // SAFETY: the next block of the panel (or one past the last).
            b = unsafe { b.add(NV) };
            k += 2;
        }
    }
    let mut out = [[0i32; NR]; MR];
    for (o, a) in out.iter_mut().zip(&acc) {
        for (j, v) in a.iter().enumerate() {
            // SAFETY: NR = 4 · NV, so lanes 4j..4j+4 are inside the row.
            unsafe { _mm_storeu_si128(o.as_mut_ptr().add(4 * j).cast(), *v) };
        }
    }
    // SAFETY: the output pointers follow the contract for m ≤ MR rows and n ≤ NR columns.
    unsafe { lanes::gemm_tile::<MR, NR>(&out, args.m, args.n, &args.out) };
}
