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

use qnn_ir::DType;
use qnn_ir::backend::{Epilogue, IndirectGemmArgs, RequantLanes, TileOutput};
use qnn_kernels::epilogue::lanes::{mode, mode_of};

use super::requant::{self, NarrowParams};
use super::store::{requant_row, store_row};

/// One k step of 4: `NV` weight vectors, `MR` broadcasts, `MR · NV` `vpdpbusd`.
///
/// # Safety
/// `b` holds `NV` vectors; every row holds 4 bytes at `k`; AVX-512 VNNI (inlined into the
/// kernel, which enables it).
#[inline(always)]
unsafe fn step<const MR: usize, const NV: usize>(
    acc: &mut [[__m512i; NV]; MR],
    rows: &[*const u8; MR],
    k: usize,
    b: *const __m512i,
) {
    // SAFETY: see the function's contract.
    unsafe {
        let mut bv = [_mm512_setzero_si512(); NV];
        for (j, v) in bv.iter_mut().enumerate() {
            *v = _mm512_loadu_si512(b.add(j));
        }
        for i in 0..MR {
            let a = _mm512_set1_epi32(rows[i].add(k).cast::<i32>().read_unaligned());
            for j in 0..NV {
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], a, bv[j]);
            }
        }
    }
}

/// The reduction with `S` k steps per tap, unrolled.
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kc = 4 · S`; AVX-512 VNNI (inlined into the kernel).
#[inline(always)]
unsafe fn taps<const MR: usize, const NV: usize, const S: usize>(
    acc: &mut [[__m512i; NV]; MR],
    args: &IndirectGemmArgs<'_>,
    mut b: *const __m512i,
) {
    for t in 0..args.taps {
        // SAFETY: `a` holds taps × MR row pointers.
        let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
        for s in 0..S {
            // SAFETY: the panel holds taps · S blocks of NV vectors; rows hold 4 · S bytes.
            unsafe {
                step::<MR, NV>(acc, &rows, 4 * s, b);
                b = b.add(NV);
            }
        }
    }
}

/// The reduction for any `kc`, two k steps per iteration (half the loop overhead, a wider
/// scheduling window).
///
/// # Safety
/// The [`IndirectGemmArgs`] contract; AVX-512 VNNI (inlined into the kernel).
#[inline(always)]
unsafe fn taps_any<const MR: usize, const NV: usize>(
    acc: &mut [[__m512i; NV]; MR],
    args: &IndirectGemmArgs<'_>,
    mut b: *const __m512i,
) {
    for t in 0..args.taps {
        // SAFETY: `a` holds taps × MR row pointers.
        let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
        let mut k = 0;
        while k + 8 <= args.kc {
            // SAFETY: the panel holds taps · kc / 4 blocks of NV vectors; each row holds
            // kc ≥ k + 8 bytes.
            unsafe {
                step::<MR, NV>(acc, &rows, k, b);
                step::<MR, NV>(acc, &rows, k + 4, b.add(NV));
                b = b.add(2 * NV);
            }
            k += 8;
        }
        if k < args.kc {
            // SAFETY: as above, for the last k step of 4.
            unsafe {
                step::<MR, NV>(acc, &rows, k, b);
                b = b.add(NV);
            }
        }
    }
}

/// One tile of `MR` rows × `NR = 16 · NV` columns.
///
/// # Safety
/// The [`IndirectGemmArgs`] contract with `kr = 4`, and a CPU with AVX-512 F/BW/VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn gemm<const MR: usize, const NV: usize, const NR: usize>(args: &IndirectGemmArgs<'_>) {
    // Accumulators start at the per-column constant of the fused epilogue (one addition
    // fewer per output), or at zero for raw output.
    let mut acc = [[_mm512_setzero_si512(); NV]; MR];
    if let TileOutput::Fused { epilogue, .. } = args.out {
        for j in 0..NV {
            let bias = &epilogue.bias[16 * j..][..16];
            // SAFETY: 16 i32 of the padded parameter array.
            let v = unsafe { _mm512_loadu_si512(bias.as_ptr().cast()) };
            for row in acc.iter_mut() {
                row[j] = v;
            }
        }
    }
    let b = args.b.cast::<__m512i>();
    // Short taps (first layers: a kernel row of `kw · C` bytes, 12 for 3×3×3, 24 for
    // 7×7×3) run fully unrolled: a loop of 3 or 6 steps per tap would pay a mispredicted
    // exit per tap.
    // Taller tiles would keep the loop: their row pointers and the unrolled steps run out of
    // general registers (the backend's tiles have at most 8 rows).
    //
    // SAFETY: every arm is called under the IndirectGemmArgs contract.
    unsafe {
        match if MR <= 8 { args.kc } else { 0 } {
            4 => taps::<MR, NV, 1>(&mut acc, args, b),
            8 => taps::<MR, NV, 2>(&mut acc, args, b),
            12 => taps::<MR, NV, 3>(&mut acc, args, b),
            16 => taps::<MR, NV, 4>(&mut acc, args, b),
            20 => taps::<MR, NV, 5>(&mut acc, args, b),
            24 => taps::<MR, NV, 6>(&mut acc, args, b),
            28 => taps::<MR, NV, 7>(&mut acc, args, b),
            32 => taps::<MR, NV, 8>(&mut acc, args, b),
            _ => taps_any::<MR, NV>(&mut acc, args, b),
        }
    }
    if let TileOutput::Fused { epilogue: e, row_sums, out, row_stride } = args.out
        && let RequantLanes::Float { mult } = e.requant
        && matches!(e.out_dtype, DType::U8 | DType::I8)
    {
        // ONNX Runtime's f32 rule with an integer finish (see `requant`), on the registers
        // themselves: every index is a constant after unrolling.
        // SAFETY: the output tile follows the contract.
        unsafe {
            float_narrow::<MR, NV, NR>(acc, args.m, args.n, e, mult, row_sums, out, row_stride)
        };
        return;
    }
    // A copy for the epilogue: its row loop may index dynamically, which would keep `acc`
    // itself in memory (stored after every update) instead of in registers.
    let acc = std::hint::black_box(acc);
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
            // One dispatch on the requantize mode per tile, not per row.
            // SAFETY: the output tile follows the contract (every arm).
            unsafe {
                match mode_of(e) {
                    mode::RAW => fused::<MR, NV, NR, { mode::RAW }>(
                        &acc, args.m, args.n, e, row_sums, out, row_stride,
                    ),
                    mode::FLOAT_NARROW => fused::<MR, NV, NR, { mode::FLOAT_NARROW }>(
                        &acc, args.m, args.n, e, row_sums, out, row_stride,
                    ),
                    mode::FLOAT_I32 => fused::<MR, NV, NR, { mode::FLOAT_I32 }>(
                        &acc, args.m, args.n, e, row_sums, out, row_stride,
                    ),
                    mode::FIXED_UPWARD => fused::<MR, NV, NR, { mode::FIXED_UPWARD }>(
                        &acc, args.m, args.n, e, row_sums, out, row_stride,
                    ),
                    mode::FIXED_TONEAREST => fused::<MR, NV, NR, { mode::FIXED_TONEAREST }>(
                        &acc, args.m, args.n, e, row_sums, out, row_stride,
                    ),
                    _ => fused::<MR, NV, NR, { mode::FIXED_TFLITE }>(
                        &acc, args.m, args.n, e, row_sums, out, row_stride,
                    ),
                }
            }
        }
    }
}

/// The fused epilogue of a tile in requantize mode `M`.
///
/// # Safety
/// `out` valid for `m` rows of `n` elements at `row_stride`; AVX-512 F/BW (inlined into the
/// kernel).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn fused<const MR: usize, const NV: usize, const NR: usize, const M: u8>(
    acc: &[[__m512i; NV]; MR],
    m: usize,
    n: usize,
    e: &Epilogue<'_>,
    row_sums: Option<&[i32]>,
    out: *mut u8,
    row_stride: usize,
) {
    let size = e.out_dtype.size_bytes();
    for i in 0..MR {
        if i >= m {
            break;
        }
        let r = requant_row::<NV, NR, M>(&acc[i], e, row_sums.map(|s| s[i]));
        // SAFETY: row i of the output tile is valid for n elements.
        unsafe { store_row(&r, e.out_dtype, out.add(i * row_stride * size), n) };
    }
}

/// ONNX Runtime's f32 requantize to u8/i8 of a tile (see `requant`), T3 included.
///
/// # Safety
/// `mult` and the T3 zero points hold `NR` entries; `out` valid for `m` rows of `n` bytes at
/// `row_stride`; AVX-512 F/BW (inlined into the kernel).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn float_narrow<const MR: usize, const NV: usize, const NR: usize>(
    acc: [[__m512i; NV]; MR],
    m: usize,
    n: usize,
    e: &Epilogue<'_>,
    mult: &[f32],
    row_sums: Option<&[i32]>,
    out: *mut u8,
    row_stride: usize,
) {
    assert!(mult.len() >= NR, "epilogue parameters are padded to whole tiles");
    // SAFETY: the caller's pointers and CPU features.
    unsafe {
        let p = NarrowParams::new(e);
        let t3 = match (e.t3_zero_point, row_sums) {
            (Some(t3), Some(sums)) => {
                assert!(t3.len() >= NR && sums.len() >= m, "T3 parameters cover the tile");
                Some((t3.as_ptr(), sums.as_ptr()))
            }
            _ => None,
        };
        for i in 0..MR {
            if i >= m {
                break;
            }
            let mut v = acc[i];
            if let Some((z, sums)) = t3 {
                let s = _mm512_set1_epi32(*sums.add(i));
                for (j, x) in v.iter_mut().enumerate() {
                    let zj = _mm512_loadu_si512(z.add(16 * j).cast());
                    *x = _mm512_sub_epi32(*x, _mm512_mullo_epi32(zj, s));
                }
            }
            requant::store_row(&v, mult.as_ptr(), &p, out.add(i * row_stride), n);
        }
    }
}
