//! NEON int8 indirect GEMM, exact without a dot product: `smull` + `sadalp` (s8 × s8) and
//! `umull` + `uadalp` (u8 × u8), for comparison with the int16 lowering on the same core.
//!
//! Tile `MR × NR` with `kr` = 16: a column of the packed panel holds 16 consecutive k of one
//! output channel, so one `ldr q` per row and per column feeds a (row, column) pair. The
//! accumulator of the pair keeps four partial sums; `smull` multiplies the low 8 bytes
//! (8 i16 products), `smull2` the high 8, and `sadalp` adds adjacent products into the four
//! i32 lanes. The four lanes are summed once per tile (`addp`).
//!
//! Range: one product per i16 lane, |s8 · s8| ≤ 128 · 128 = 16384 ≤ 32767 and
//! u8 · u8 ≤ 65025 ≤ 65535 (u16); `sadalp`/`uadalp` widen each pair to 32 bits before adding,
//! so no 16-bit sum is ever formed. The i32 sums are exact under the frame's
//! accumulator-range proof (u32 and i32 wrapping adds are the same bits).
//!
//! The `_mlal` variant (XNNPACK's "c16 mlal" scheme) first sums two products in one i16 lane,
//! `smull` (k) + `smlal2` (k + 8), then `sadalp`: 3 instructions per 16 MACs instead of 4.
//! That wraps on (−128)·(−128)·2 = 32768, so it carries
//! [`WeightConstraint::S8S8PairSumFitsI16`](qnn_ir::backend::WeightConstraint): the frame
//! refuses it for weights that contain −128; without −128, |x · w| ≤ 128 · 127 and a pair
//! stays within ±32512.

// Register tiles are indexed by (row, column), as the equations above are.
#![allow(clippy::needless_range_loop)]

use core::arch::aarch64::*;

use qnn_ir::backend::IndirectGemmArgs;
use qnn_kernels::epilogue::lanes::gemm_tile;

/// `acc + Σ pairs(a · b)` over 16 bytes: `SIGNED` s8 × s8, else u8 × u8; `PAIRS` sums
/// products k and k + 8 in i16 first (s8 only, weights without −128).
#[inline]
#[target_feature(enable = "neon")]
fn mac<const SIGNED: bool, const PAIRS: bool>(
    acc: int32x4_t,
    a: uint8x16_t,
    b: uint8x16_t,
) -> int32x4_t {
    if SIGNED && PAIRS {
        let (a, b) = (vreinterpretq_s8_u8(a), vreinterpretq_s8_u8(b));
        vpadalq_s16(acc, vmlal_high_s8(vmull_s8(vget_low_s8(a), vget_low_s8(b)), a, b))
    } else if SIGNED {
        let (a, b) = (vreinterpretq_s8_u8(a), vreinterpretq_s8_u8(b));
        let acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
        vpadalq_s16(acc, vmull_high_s8(a, b))
    } else {
        let acc = vreinterpretq_u32_s32(acc);
        let acc = vpadalq_u16(acc, vmull_u8(vget_low_u8(a), vget_low_u8(b)));
        vreinterpretq_s32_u32(vpadalq_u16(acc, vmull_high_u8(a, b)))
    }
}

/// One tile; `NR` must be a multiple of 4.
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kr = 16` and 8-bit operands, on a CPU with NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn gemm<const SIGNED: bool, const PAIRS: bool, const MR: usize, const NR: usize>(
    args: &IndirectGemmArgs<'_>,
) {
    let mut acc = [[vdupq_n_s32(0); NR]; MR];
    let mut b = args.b;
    for t in 0..args.taps {
        // SAFETY: `a` holds taps × MR row pointers.
        let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
        let mut k = 0;
        while k < args.kc {
            // SAFETY: kc is a multiple of 16, rows hold kc bytes; the block holds NR × 16.
            unsafe {
                let a: [uint8x16_t; MR] = std::array::from_fn(|i| vld1q_u8(rows[i].add(k)));
                for j in 0..NR {
                    let w = vld1q_u8(b.add(16 * j));
                    for i in 0..MR {
                        acc[i][j] = mac::<SIGNED, PAIRS>(acc[i][j], a[i], w);
                    }
                }
                b = b.add(16 * NR);
            }
            k += 16;
        }
    }
    let mut tile = [[0i32; NR]; MR];
    for i in 0..MR {
        for j in (0..NR).step_by(4) {
            let s01 = vpaddq_s32(acc[i][j], acc[i][j + 1]);
            let s23 = vpaddq_s32(acc[i][j + 2], acc[i][j + 3]);
            // SAFETY: columns j..j+4 of row i.
            unsafe { vst1q_s32(tile[i].as_mut_ptr().add(j), vpaddq_s32(s01, s23)) };
        }
    }
    // SAFETY: the output pointers follow the contract; the generic epilogue is inlined here.
    unsafe { gemm_tile::<MR, NR>(&tile, args.m, args.n, &args.out) };
}

/// `neon_gemm_s8s8_4x4c16_sadalp`: `smull`/`smull2` + `sadalp`, 8 MACs per multiply.
///
/// # Safety
/// See [`gemm`].
#[target_feature(enable = "neon")]
pub unsafe fn neon_gemm_s8s8_4x4c16_sadalp(args: &IndirectGemmArgs<'_>) {
    // SAFETY: forwarded contract.
    unsafe { gemm::<true, false, 4, 4>(args) }
}

/// `neon_gemm_u8u8_4x4c16`: `umull`/`umull2` + `uadalp`, 8 MACs per multiply.
///
/// # Safety
/// See [`gemm`].
#[target_feature(enable = "neon")]
pub unsafe fn neon_gemm_u8u8_4x4c16(args: &IndirectGemmArgs<'_>) {
    // SAFETY: forwarded contract.
    unsafe { gemm::<false, false, 4, 4>(args) }
}

/// `neon_gemm_s8s8_4x4c16_mlal`: `smull` + `smlal2` + `sadalp`, 16 MACs per 3
/// instructions, for weights without −128.
///
/// # Safety
/// See [`gemm`].
#[target_feature(enable = "neon")]
pub unsafe fn neon_gemm_s8s8_4x4c16_mlal(args: &IndirectGemmArgs<'_>) {
    // SAFETY: forwarded contract; the frame checked the weight constraint when packing.
    unsafe { gemm::<true, true, 4, 4>(args) }
}
