//! AVX-VNNI indirect GEMM: `vpdpbusd` on ymm (VEX encoding, 16 registers), u8 × s8 → i32.
//!
//! Tile `MR × 8·NV`. Without AVX-512 only ymm0–15 exist: 6×2 accumulators + 2 weight
//! registers + 1 broadcast = 15.

// Tile code indexes rows and columns by their coordinates.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use qnn_ir::backend::IndirectGemmArgs;
use qnn_kernels::epilogue::lanes::gemm_tile;

/// One tile; `NR` must equal `8 · NV`.
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kr = 4`, and a CPU with AVX2 and AVX-VNNI.
#[target_feature(enable = "avx2,avxvnni")]
pub unsafe fn gemm<const MR: usize, const NV: usize, const NR: usize>(args: &IndirectGemmArgs<'_>) {
    debug_assert_eq!(NR, 8 * NV);
    let mut acc = [[_mm256_setzero_si256(); NV]; MR];
    let mut b = args.b.cast::<__m256i>();
    for t in 0..args.taps {
        // SAFETY: `a` holds taps × MR row pointers.
        let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
        let mut k = 0;
        while k < args.kc {
            // SAFETY: the panel holds taps · kc / 4 blocks of NV vectors.
            let bv: [__m256i; NV] =
                std::array::from_fn(|j| unsafe { _mm256_loadu_si256(b.add(j)) });
            for i in 0..MR {
                // SAFETY: each row holds kc ≥ k + 4 bytes.
                let a = unsafe { rows[i].add(k).cast::<i32>().read_unaligned() };
                let a = _mm256_set1_epi32(a);
                for j in 0..NV {
                    acc[i][j] = _mm256_dpbusd_avx_epi32(acc[i][j], a, bv[j]);
                }
            }
            // SAFETY: next block of the panel.
            b = unsafe { b.add(NV) };
            k += 4;
        }
    }
    let mut tile = [[0i32; NR]; MR];
    for i in 0..MR {
        for j in 0..NV {
            // SAFETY: row i of the tile holds NR = 8·NV i32.
            unsafe { _mm256_storeu_si256(tile[i].as_mut_ptr().add(8 * j).cast(), acc[i][j]) };
        }
    }
    // SAFETY: as in the AVX-512 kernel, compiled with AVX2 + AVX-VNNI.
    unsafe { gemm_tile::<MR, NR>(&tile, args.m, args.n, &args.out) };
}
