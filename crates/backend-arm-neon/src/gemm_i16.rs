//! NEON int16 indirect GEMM for the int16 lowering: `smlal`/`smlal2` by lane.
//!
//! Tile `MR × 8·NV` (`kr` = 1: the packed panel holds, per k, the tile's columns as
//! consecutive i16). Per 8 k, each row loads 8 data values into one register (`ldr q`);
//! per k, the `NV` weight vectors of 8 columns are loaded and every row multiplies them by
//! lane k of its data register: `smlal` (columns 0–3 of a vector) and `smlal2` (4–7), 4 MACs
//! each. That is XNNPACK's Cortex-A53 "4×16 mlal-lane" scheme: no broadcast instruction, the
//! data operand is an element of a register, so the loop is loads plus `smlal`s only.
//! Registers (4×16): 16 accumulators + 4 data + 2 weight vectors of the 32.
//!
//! Range: the frame's int16 operands are `x − a` and `W − w_k`, |·| ≤ 255 (or any i16, the
//! product of two i16 is exact in i32); `smlal` widens before it adds, and the i32 sum is
//! exact under the frame's accumulator-range proof (wrapping adds of a sum that fits).

// Register tiles are indexed by (row, column), as the equations above are.
#![allow(clippy::needless_range_loop)]

use core::arch::aarch64::*;

use qnn_ir::backend::IndirectGemmArgs;
use qnn_kernels::epilogue::lanes::gemm_tile;

/// Accumulators: row `i`, weight vector `v`: columns `8v..8v+4` (`lo`) and `8v+4..8v+8`.
struct Acc<const MR: usize, const NV: usize> {
    lo: [[int32x4_t; NV]; MR],
    hi: [[int32x4_t; NV]; MR],
}

/// 8 i16 at `p`, any alignment (a byte load, reinterpreted).
///
/// # Safety
/// `p` must be valid for 16 bytes.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load_i16x8(p: *const u8) -> int16x8_t {
    // SAFETY: the caller guarantees 16 readable bytes; `vld1q_u8` has no alignment needs.
    unsafe { vreinterpretq_s16_u8(vld1q_u8(p)) }
}

/// The weight vectors of one k: `NV` × 8 columns at `b`.
///
/// # Safety
/// `b` must be valid for `16 · NV` bytes.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn weights<const NV: usize>(b: *const u8) -> [int16x8_t; NV] {
    // SAFETY: vector v lies at bytes 16v..16v+16 < 16·NV.
    std::array::from_fn(|v| unsafe { load_i16x8(b.add(16 * v)) })
}

/// One k of the 8 held in the data registers: lane `L` of each row's data.
///
/// # Safety
/// `b` must be valid for `16 · NV` bytes.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn lane_step<const L: i32, const MR: usize, const NV: usize>(
    acc: &mut Acc<MR, NV>,
    a: &[int16x8_t; MR],
    b: *const u8,
) {
    // SAFETY: forwarded from the caller.
    let w = unsafe { weights::<NV>(b) };
    for i in 0..MR {
        for v in 0..NV {
            acc.lo[i][v] = vmlal_laneq_s16::<L>(acc.lo[i][v], vget_low_s16(w[v]), a[i]);
            acc.hi[i][v] = vmlal_high_laneq_s16::<L>(acc.hi[i][v], w[v], a[i]);
        }
    }
}

/// One tile; `NR` must equal `8 · NV`.
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kr = 1` and i16 operands, on a CPU with NEON.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn gemm<const MR: usize, const NV: usize, const NR: usize>(args: &IndirectGemmArgs<'_>) {
    debug_assert_eq!(NR, 8 * NV);
    let zero = vdupq_n_s32(0);
    let mut acc = Acc::<MR, NV> { lo: [[zero; NV]; MR], hi: [[zero; NV]; MR] };
    // Bytes of one k's weights.
    let step = 2 * NR;
    let mut b = args.b;
    for t in 0..args.taps {
        // SAFETY: `a` holds taps × MR row pointers.
        let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
        let mut k = 0;
        while k + 8 <= args.kc {
            // SAFETY: rows hold kc ≥ k + 8 i16; the panel holds kc·NR i16 per tap.
            unsafe {
                let a: [int16x8_t; MR] = std::array::from_fn(|i| load_i16x8(rows[i].add(2 * k)));
                lane_step::<0, MR, NV>(&mut acc, &a, b);
                lane_step::<1, MR, NV>(&mut acc, &a, b.add(step));
                lane_step::<2, MR, NV>(&mut acc, &a, b.add(2 * step));
                lane_step::<3, MR, NV>(&mut acc, &a, b.add(3 * step));
                lane_step::<4, MR, NV>(&mut acc, &a, b.add(4 * step));
                lane_step::<5, MR, NV>(&mut acc, &a, b.add(5 * step));
                lane_step::<6, MR, NV>(&mut acc, &a, b.add(6 * step));
                lane_step::<7, MR, NV>(&mut acc, &a, b.add(7 * step));
                b = b.add(8 * step);
            }
            k += 8;
        }
        while k < args.kc {
            // SAFETY: as above, one k at a time; scalar reads are unaligned-safe.
            unsafe {
                let a: [int16x4_t; MR] = std::array::from_fn(|i| {
                    vdup_n_s16(rows[i].add(2 * k).cast::<i16>().read_unaligned())
                });
                let w = weights::<NV>(b);
                for i in 0..MR {
                    for v in 0..NV {
                        acc.lo[i][v] = vmlal_lane_s16::<0>(acc.lo[i][v], vget_low_s16(w[v]), a[i]);
                        acc.hi[i][v] = vmlal_high_lane_s16::<0>(acc.hi[i][v], w[v], a[i]);
                    }
                }
                b = b.add(step);
            }
            k += 1;
        }
    }
    let mut tile = [[0i32; NR]; MR];
    for i in 0..MR {
        for v in 0..NV {
            // SAFETY: row i holds NR = 8·NV i32.
            unsafe {
                vst1q_s32(tile[i].as_mut_ptr().add(8 * v), acc.lo[i][v]);
                vst1q_s32(tile[i].as_mut_ptr().add(8 * v + 4), acc.hi[i][v]);
            }
        }
    }
    // SAFETY: the output pointers follow the contract; the generic epilogue is inlined here.
    unsafe { gemm_tile::<MR, NR>(&tile, args.m, args.n, &args.out) };
}

/// `neon_gemm_i16_4x16`: XNNPACK's A53 tile (4 rows × 16 columns, 16 `smlal` per k).
///
/// # Safety
/// See [`gemm`].
#[target_feature(enable = "neon")]
pub unsafe fn neon_gemm_i16_4x16(args: &IndirectGemmArgs<'_>) {
    // SAFETY: forwarded contract.
    unsafe { gemm::<4, 2, 16>(args) }
}

/// `neon_gemm_i16_1x32`: dense layers with one row (a weight stream, 8 accumulator chains).
///
/// # Safety
/// See [`gemm`].
#[target_feature(enable = "neon")]
pub unsafe fn neon_gemm_i16_1x32(args: &IndirectGemmArgs<'_>) {
    // SAFETY: forwarded contract.
    unsafe { gemm::<1, 4, 32>(args) }
}
