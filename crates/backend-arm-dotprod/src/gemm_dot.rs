//! dotprod indirect GEMM: `sdot`/`udot` by element, the int8 lowering's main loop.
//!
//! Tile `MR × 4·NV` with `kr` = 4 (XNNPACK's "4×16c4" scheme): a packed block holds the
//! tile's columns × 4 k, so one 16-byte weight vector is 4 columns × 4 k. Per 16 k, each row
//! loads its 16 data bytes once (`ldr q`: four groups of 4 k); per group `g`, the `NV` weight
//! vectors are loaded and every row adds `sdot acc, w, a.4b[g]` — 16 MACs per instruction,
//! no broadcast. Registers (4×16): 16 accumulators + 4 data + 4 weights of the 32.
//!
//! Range: each lane adds four 8-bit products (|s8·s8| ≤ 16384, u8·u8 ≤ 65025) to an i32
//! (u32) accumulator, exact under the frame's accumulator-range proof.

// Register tiles are indexed by (row, column), as the equations above are.
#![allow(clippy::needless_range_loop)]

use core::arch::aarch64::*;

use qnn_ir::backend::IndirectGemmArgs;
use qnn_kernels::epilogue::lanes::gemm_tile;

use crate::intrinsics::{vdotq_laneq_s32, vdotq_laneq_u32};

/// `acc + dot(w, a.4b[G])`: `UNSIGNED` u8 × u8 (`udot`), else s8 × s8 (`sdot`).
#[inline]
#[target_feature(enable = "neon,dotprod")]
fn dot<const UNSIGNED: bool, const G: i32>(
    acc: int32x4_t,
    w: uint8x16_t,
    a: uint8x16_t,
) -> int32x4_t {
    if UNSIGNED {
        vreinterpretq_s32_u32(vdotq_laneq_u32::<G>(vreinterpretq_u32_s32(acc), w, a))
    } else {
        vdotq_laneq_s32::<G>(acc, vreinterpretq_s8_u8(w), vreinterpretq_s8_u8(a))
    }
}

/// One group of 4 k: the weight block at `b` against lane group `G` of every row's data.
///
/// # Safety
/// `b` valid for `16 · NV` bytes.
#[inline]
#[target_feature(enable = "neon,dotprod")]
unsafe fn group<const UNSIGNED: bool, const G: i32, const MR: usize, const NV: usize>(
    acc: &mut [[int32x4_t; NV]; MR],
    a: &[uint8x16_t; MR],
    b: *const u8,
) {
    // SAFETY: vector v lies at bytes 16v..16v+16 < 16·NV.
    let w: [uint8x16_t; NV] = std::array::from_fn(|v| unsafe { vld1q_u8(b.add(16 * v)) });
    for i in 0..MR {
        for v in 0..NV {
            acc[i][v] = dot::<UNSIGNED, G>(acc[i][v], w[v], a[i]);
        }
    }
}

/// One tile; `NR` must equal `4 · NV`.
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kr = 4` and 8-bit operands, on a CPU with
/// dotprod.
#[inline]
#[target_feature(enable = "neon,dotprod")]
unsafe fn gemm<const UNSIGNED: bool, const MR: usize, const NV: usize, const NR: usize>(
    args: &IndirectGemmArgs<'_>,
) {
    debug_assert_eq!(NR, 4 * NV);
    let mut acc = [[vdupq_n_s32(0); NV]; MR];
    let block = 16 * NV;
    let mut b = args.b;
    for t in 0..args.taps {
        // SAFETY: `a` holds taps × MR row pointers.
        let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
        let mut k = 0;
        while k + 16 <= args.kc {
            // SAFETY: rows hold kc ≥ k + 16 bytes; the panel holds kc / 4 blocks per tap.
            unsafe {
                let a: [uint8x16_t; MR] = std::array::from_fn(|i| vld1q_u8(rows[i].add(k)));
                group::<UNSIGNED, 0, MR, NV>(&mut acc, &a, b);
                group::<UNSIGNED, 1, MR, NV>(&mut acc, &a, b.add(block));
                group::<UNSIGNED, 2, MR, NV>(&mut acc, &a, b.add(2 * block));
                group::<UNSIGNED, 3, MR, NV>(&mut acc, &a, b.add(3 * block));
                b = b.add(4 * block);
            }
            k += 16;
        }
        while k < args.kc {
            // SAFETY: kc is a multiple of 4: rows hold k + 4 bytes (read unaligned).
            unsafe {
                let a: [uint8x16_t; MR] = std::array::from_fn(|i| {
                    vreinterpretq_u8_u32(vdupq_n_u32(rows[i].add(k).cast::<u32>().read_unaligned()))
                });
                group::<UNSIGNED, 0, MR, NV>(&mut acc, &a, b);
                b = b.add(block);
            }
            k += 4;
        }
    }
    let mut tile = [[0i32; NR]; MR];
    for i in 0..MR {
        for v in 0..NV {
            // SAFETY: columns 4v..4v+4 of row i.
            unsafe { vst1q_s32(tile[i].as_mut_ptr().add(4 * v), acc[i][v]) };
        }
    }
    // SAFETY: the output pointers follow the contract; the generic epilogue is inlined here.
    unsafe { gemm_tile::<MR, NR>(&tile, args.m, args.n, &args.out) };
}

/// `dotprod_gemm_s8s8_4x16c4`: 16 `sdot` per 4 k, XNNPACK's neondot tile.
///
/// # Safety
/// See [`gemm`].
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn dotprod_gemm_s8s8_4x16c4(args: &IndirectGemmArgs<'_>) {
    // SAFETY: forwarded contract.
    unsafe { gemm::<false, 4, 4, 16>(args) }
}

/// `dotprod_gemm_u8u8_4x16c4`: the same with `udot`.
///
/// # Safety
/// See [`gemm`].
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn dotprod_gemm_u8u8_4x16c4(args: &IndirectGemmArgs<'_>) {
    // SAFETY: forwarded contract.
    unsafe { gemm::<true, 4, 4, 16>(args) }
}

/// `dotprod_gemm_s8s8_1x32c4`: dense layers with one row (8 accumulator chains).
///
/// # Safety
/// See [`gemm`].
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn dotprod_gemm_s8s8_1x32c4(args: &IndirectGemmArgs<'_>) {
    // SAFETY: forwarded contract.
    unsafe { gemm::<false, 1, 8, 32>(args) }
}

/// `dotprod_gemm_u8u8_1x32c4`: the same with `udot`.
///
/// # Safety
/// See [`gemm`].
#[target_feature(enable = "neon,dotprod")]
pub unsafe fn dotprod_gemm_u8u8_1x32c4(args: &IndirectGemmArgs<'_>) {
    // SAFETY: forwarded contract.
    unsafe { gemm::<true, 1, 8, 32>(args) }
}
