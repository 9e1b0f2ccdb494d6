//! AVX-512 VNNI indirect GEMM: `vpdpbusd` on zmm, u8 data × s8 weights → i32.
//!
//! Tile `MR × 16·NV`: per k step of 4, `NV` weight vectors (16 columns × 4 k each) are
//! loaded, each row's 4 data bytes are broadcast (`vpbroadcastd` from memory, a load-port
//! operation), and `MR · NV` `vpdpbusd` accumulate. `MR · NV` accumulators + `NV` weight
//! registers + 1 broadcast stay within the 32 zmm registers (6×4, 8×3, 12×2, 1×8).
//!
//! Range: a `vpdpbusd` lane adds four u8·s8 products (|p| ≤ 255·128) to the accumulator
//! with wrapping i32 arithmetic, exact under the frame's accumulator-range proof.

// Tile code indexes rows and columns by their coordinates.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use qnn_ir::backend::IndirectGemmArgs;
use qnn_kernels::epilogue::lanes::gemm_tile;

/// One tile; `NR` must equal `16 · NV`.
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kr = 4`, and a CPU with AVX-512 F/BW/VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn gemm<const MR: usize, const NV: usize, const NR: usize>(args: &IndirectGemmArgs<'_>) {
    debug_assert_eq!(NR, 16 * NV);
    let mut acc = [[_mm512_setzero_si512(); NV]; MR];
    let mut b = args.b.cast::<__m512i>();
    for t in 0..args.taps {
        // SAFETY: `a` holds taps × MR row pointers.
        let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
        let mut k = 0;
        while k < args.kc {
            // SAFETY: the panel holds taps · kc / 4 blocks of NV vectors.
            let bv: [__m512i; NV] =
                std::array::from_fn(|j| unsafe { _mm512_loadu_si512(b.add(j)) });
            for i in 0..MR {
                // SAFETY: each row holds kc ≥ k + 4 bytes.
                let a = unsafe { rows[i].add(k).cast::<i32>().read_unaligned() };
                let a = _mm512_set1_epi32(a);
                for j in 0..NV {
                    acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], a, bv[j]);
                }
            }
            // SAFETY: next block of the panel (one past the end after the last).
            b = unsafe { b.add(NV) };
            k += 4;
        }
    }
    let mut tile = [[0i32; NR]; MR];
    for i in 0..MR {
        for j in 0..NV {
            // SAFETY: row i of the tile holds NR = 16·NV i32.
            unsafe { _mm512_storeu_si512(tile[i].as_mut_ptr().add(16 * j).cast(), acc[i][j]) };
        }
    }
    // SAFETY: the output pointers follow the contract; the generic epilogue is inlined here
    // and compiled with this function's AVX-512 features.
    unsafe { gemm_tile::<MR, NR>(&tile, args.m, args.n, &args.out) };
}
