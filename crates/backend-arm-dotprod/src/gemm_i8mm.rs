//! i8mm indirect GEMM: `smmla`/`ummla`, 32 MACs per instruction.
//!
//! `smmla acc, a, w` adds a 2×8 by 8×2 product to a 2×2 block of i32: `a` holds two rows ×
//! 8 k, `w` two columns × 8 k. With `kr` = 8 a packed block holds the tile's columns × 8 k,
//! so one 16-byte weight vector is exactly a column pair; a row pair is two 8-byte loads
//! (`ldr d` + `ld1 {v.d}[1]`). Tile `MR × NR` = 6 × 16: 3 row pairs × 8 column pairs = 24
//! accumulators, + 3 data + 2 weight registers of the 32; per 8 k, 24 `smmla` for 6 data
//! and 8 weight loads. Accumulator `[p][q]` holds rows `2p, 2p+1` × columns `2q, 2q+1`,
//! row-major.
//!
//! Range: each lane adds eight 8-bit products to an i32 (u32) accumulator, exact under the
//! frame's accumulator-range proof.

// Register tiles are indexed by (row, column), as the equations above are.
#![allow(clippy::needless_range_loop)]

use core::arch::aarch64::*;

use qnn_ir::backend::IndirectGemmArgs;
use qnn_kernels::epilogue::lanes::gemm_tile;

use crate::intrinsics::{vmmlaq_s32, vmmlaq_u32};

/// `acc + a · wᵀ` on 2×8 blocks: `UNSIGNED` u8 × u8 (`ummla`), else s8 × s8 (`smmla`).
#[inline]
#[target_feature(enable = "neon,i8mm")]
fn mmla<const UNSIGNED: bool>(acc: int32x4_t, a: uint8x16_t, w: uint8x16_t) -> int32x4_t {
    if UNSIGNED {
        vreinterpretq_s32_u32(vmmlaq_u32(vreinterpretq_u32_s32(acc), a, w))
    } else {
        vmmlaq_s32(acc, vreinterpretq_s8_u8(a), vreinterpretq_s8_u8(w))
    }
}

/// One tile; `MP` row pairs and `NP` column pairs (`MR = 2·MP`, `NR = 2·NP`, `NP` even).
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kr = 8` and 8-bit operands, on a CPU with i8mm.
#[inline]
#[target_feature(enable = "neon,i8mm")]
unsafe fn gemm<
    const UNSIGNED: bool,
    const MP: usize,
    const NP: usize,
    const MR: usize,
    const NR: usize,
>(
    args: &IndirectGemmArgs<'_>,
) {
    debug_assert!(MR == 2 * MP && NR == 2 * NP && NP.is_multiple_of(2));
    let mut acc = [[vdupq_n_s32(0); NP]; MP];
    let mut b = args.b;
    for t in 0..args.taps {
        // SAFETY: `a` holds taps × MR row pointers.
        let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
        let mut k = 0;
        while k < args.kc {
            // SAFETY: kc is a multiple of 8 and rows hold kc bytes; the block holds NR × 8.
            unsafe {
                let a: [uint8x16_t; MP] = std::array::from_fn(|p| {
                    vcombine_u8(vld1_u8(rows[2 * p].add(k)), vld1_u8(rows[2 * p + 1].add(k)))
                });
                for q in 0..NP {
                    let w = vld1q_u8(b.add(16 * q));
                    for p in 0..MP {
                        acc[p][q] = mmla::<UNSIGNED>(acc[p][q], a[p], w);
                    }
                }
                b = b.add(8 * NR);
            }
            k += 8;
        }
    }
    let mut tile = [[0i32; NR]; MR];
    for p in 0..MP {
        for q in (0..NP).step_by(2) {
            // Row 2p: the low halves of two neighbouring column pairs; row 2p + 1: the high.
            let (x, y) = (acc[p][q], acc[p][q + 1]);
            let top = vcombine_s32(vget_low_s32(x), vget_low_s32(y));
            let bottom = vcombine_s32(vget_high_s32(x), vget_high_s32(y));
            // SAFETY: columns 2q..2q+4 of rows 2p and 2p + 1.
            unsafe {
                vst1q_s32(tile[2 * p].as_mut_ptr().add(2 * q), top);
                vst1q_s32(tile[2 * p + 1].as_mut_ptr().add(2 * q), bottom);
            }
        }
    }
    // SAFETY: the output pointers follow the contract; the generic epilogue is inlined here.
    unsafe { gemm_tile::<MR, NR>(&tile, args.m, args.n, &args.out) };
}

/// `i8mm_gemm_s8s8_6x16c8`: 24 `smmla` per 8 k.
///
/// # Safety
/// See [`gemm`].
#[target_feature(enable = "neon,i8mm")]
pub unsafe fn i8mm_gemm_s8s8_6x16c8(args: &IndirectGemmArgs<'_>) {
    // SAFETY: forwarded contract.
    unsafe { gemm::<false, 3, 8, 6, 16>(args) }
}

/// `i8mm_gemm_u8u8_6x16c8`: the same with `ummla`.
///
/// # Safety
/// See [`gemm`].
#[target_feature(enable = "neon,i8mm")]
pub unsafe fn i8mm_gemm_u8u8_6x16c8(args: &IndirectGemmArgs<'_>) {
    // SAFETY: forwarded contract.
    unsafe { gemm::<true, 3, 8, 6, 16>(args) }
}
