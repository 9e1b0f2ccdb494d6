//! AVX-VNNI indirect GEMM: `vpdpbusd` on ymm (VEX encoding, 16 registers), u8 × s8 → i32.
//!
//! Tile `MR × 8·NV`. Without AVX-512 only ymm0–15 exist: 6×2 accumulators + 2 weight
//! registers + 1 broadcast = 15.

// Tile code indexes rows and columns by their coordinates.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use qnn_ir::backend::{IndirectGemmArgs, TileOutput};
use qnn_kernels::x86::ymm::store_tile;

/// One tile of `MR` rows × `NR = 8 · NV` columns.
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kr = 4`, and a CPU with AVX2 and AVX-VNNI.
#[target_feature(enable = "avx2,avxvnni")]
pub unsafe fn gemm<const MR: usize, const NV: usize, const NR: usize>(args: &IndirectGemmArgs<'_>) {
    // Accumulators start at the fused epilogue's per-column constant, or at zero.
    let mut acc = [[_mm256_setzero_si256(); NV]; MR];
    if let TileOutput::Fused { epilogue, .. } = args.out {
        for j in 0..NV {
            let bias = &epilogue.bias[8 * j..][..8];
            // SAFETY: 8 i32 of the padded parameter array.
            let v = unsafe { _mm256_loadu_si256(bias.as_ptr().cast()) };
            for row in acc.iter_mut() {
                row[j] = v;
            }
        }
    }
    let mut b = args.b.cast::<__m256i>();
    for t in 0..args.taps {
        // SAFETY: `a` holds taps × MR row pointers.
        let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
        let mut k = 0;
        while k < args.kc {
            // SAFETY: the panel holds taps · kc / 4 blocks of NV vectors.
            let mut bv = [_mm256_setzero_si256(); NV];
            for (j, v) in bv.iter_mut().enumerate() {
                // SAFETY: the panel holds the block's NV vectors.
                *v = unsafe { _mm256_loadu_si256(b.add(j)) };
            }
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
    // A copy for the epilogue: its row loop may index dynamically, which would keep `acc`
    // itself in memory (stored after every update) instead of in registers.
    let acc = std::hint::black_box(acc);
    // SAFETY: the output tile follows the contract; AVX2 is enabled here.
    unsafe { store_tile::<MR, NV, NR>(acc, args) };
}
