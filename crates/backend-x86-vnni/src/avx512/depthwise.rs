//! AVX-512 VNNI depthwise convolution, 64 channels per zmm.
//!
//! Depthwise has no reduction over channels, but `vpdpbusd` sums 4 adjacent bytes. With
//! weights that keep one byte in four (sub-vector `j` holds the weight of channel `4i + j`
//! in byte `4i + j`, zero elsewhere), `vpdpbusd(acc_j, data, w_j)` adds exactly channel
//! `4i + j`'s product into lane `i` of `acc_j`: four instructions per 64 channels and tap,
//! on data loaded straight from the NHWC row, no shuffles. The frame lays the epilogue
//! parameters out in the same lane order (block 64, `kr` 4), and the results are packed
//! back to channel order with shifts: byte `4i + j` of the output is lane `i` of `acc_j`.
//!
//! When 64 is a multiple of the channel count and the stride is 1, the taps of a row of
//! pixels are contiguous across pixels too, so the row is processed as a flat array of
//! channels, 64 at a time (block 0's slots repeat the channels periodically, as the frame
//! guarantees for `block % channels == 0`). Two blocks are computed together: eight
//! independent accumulator chains hide the `vpdpbusd` latency across the taps.
//!
//! Range: one product per lane per tap, |u8 · s8| ≤ 32 640; sums exact under the frame's
//! accumulator-range proof.

// Block code indexes lanes and sub-vectors by their coordinates.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use super::requant::{NarrowParams, block_bytes};
use super::store::{lanes, requant_block};
use qnn_ir::DType;
use qnn_ir::backend::{DepthwiseArgs, Epilogue, RequantLanes};

/// Channels per block.
pub const BLOCK: usize = 64;

/// Where one block of 64 lanes reads (element offset of tap (r, 0) in each row) and
/// writes (output element offset, element count).
#[derive(Clone, Copy)]
struct Pos {
    base: usize,
    out: usize,
    n: usize,
}

/// # Safety
/// The [`DepthwiseArgs`] contract for block 64, `kr` 4, and a CPU with AVX-512 F/BW/VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn depthwise(args: &DepthwiseArgs<'_>) {
    let c = args.channels;
    let t3 = args.epilogue.t3_zero_point.is_some();
    // SAFETY: AVX-512 F/BW are enabled here.
    let fast = unsafe { float_narrow(args.epilogue) };
    if args.stride_w == 1 && BLOCK.is_multiple_of(c) {
        // One flat array of channels: 64 elements at a time, block 0's parameters.
        let total = args.ow * c;
        let at = |f: usize| Pos { base: f, out: f, n: (total - f).min(BLOCK) };
        let chunks = total.div_ceil(BLOCK);
        let mut f = 0;
        while f < chunks {
            let pair = [at(f * BLOCK), at((f + 1).min(chunks - 1) * BLOCK)];
            // SAFETY: flat chunks stay inside the padded rows (slack included) and the
            // output row, as `blocks2` requires.
            unsafe { blocks2_dispatch(args, 1, 0, pair, t3, fast.as_ref()) };
            f += 2;
        }
    } else {
        // Block-major, so the two positions of a pair share one block's weights.
        let blocks = c.div_ceil(BLOCK);
        for b in 0..blocks {
            let n = (c - b * BLOCK).min(BLOCK);
            let at = |x: usize| Pos {
                base: x * args.stride_w * c + b * BLOCK,
                out: x * c + b * BLOCK,
                n,
            };
            let mut x = 0;
            while x < args.ow {
                let pair = [at(x), at((x + 1).min(args.ow - 1))];
                // SAFETY: pixel blocks stay inside the padded rows (slack included) and the
                // output row, as `blocks2` requires.
                unsafe { blocks2_dispatch(args, blocks, b, pair, t3, fast.as_ref()) };
                x += 2;
            }
        }
    }
}

/// The integer finish of ONNX Runtime's f32 requantize to u8/i8 (see `requant`), when the
/// epilogue is that one: its parameters and the multipliers (block-lane order).
///
/// # Safety
/// AVX-512 F/BW.
#[inline(always)]
unsafe fn float_narrow(e: &Epilogue<'_>) -> Option<(NarrowParams, *const f32)> {
    match e.requant {
        RequantLanes::Float { mult } if matches!(e.out_dtype, DType::U8 | DType::I8) => {
            assert!(mult.len() >= e.bias.len(), "multipliers cover every block");
            // SAFETY: the caller's CPU features.
            Some((unsafe { NarrowParams::new(e) }, mult.as_ptr()))
        }
        _ => None,
    }
}

/// [`blocks2`] with or without the window sums of the T3 term. (A last odd position is
/// computed twice and stored twice, with the same bytes.)
///
/// # Safety
/// See [`blocks2`].
#[inline(always)]
unsafe fn blocks2_dispatch(
    args: &DepthwiseArgs<'_>,
    blocks: usize,
    b: usize,
    pos: [Pos; 2],
    t3: bool,
    fast: Option<&(NarrowParams, *const f32)>,
) {
    // SAFETY: the caller's guarantees.
    unsafe {
        if t3 {
            blocks2::<true>(args, blocks, b, pos, fast);
        } else {
            blocks2::<false>(args, blocks, b, pos, fast);
        }
    }
}

/// Two positions of block `b`: accumulate every tap, then the epilogue, then store in
/// channel order.
///
/// # Safety
/// Rows readable at `base + s·dilation_w·channels + 64` for every tap of both positions
/// (the padded rows' slack), `out + n` inside the output row.
#[inline(always)]
unsafe fn blocks2<const T3: bool>(
    args: &DepthwiseArgs<'_>,
    blocks: usize,
    b: usize,
    pos: [Pos; 2],
    fast: Option<&(NarrowParams, *const f32)>,
) {
    let e = args.epilogue;
    let tap_step = args.dilation_w * args.channels;
    let w = args.weights.cast::<__m512i>();
    // SAFETY: zeroing a register (inlined into the AVX-512 kernel).
    let zero = unsafe { _mm512_setzero_si512() };
    // Accumulators start at the per-channel constant (the epilogue's bias), in lane order.
    let mut acc = [[zero; 4]; 2];
    let mut sums = [[zero; 4]; 2];
    for j in 0..4 {
        let bias = &e.bias[b * BLOCK + 16 * j..][..16];
        // SAFETY: 16 i32 of bias.
        let v = unsafe { _mm512_loadu_si512(bias.as_ptr().cast()) };
        acc[0][j] = v;
        acc[1][j] = v;
    }
    for r in 0..args.kh {
        // SAFETY: `rows` holds kh pointers.
        let row = unsafe { *args.rows.add(r) };
        for s in 0..args.kw {
            let t = r * args.kw + s;
            // SAFETY: the caller guarantees 64 readable bytes at each position; weights hold
            // taps × blocks × 4 vectors.
            unsafe {
                let d0 = _mm512_loadu_si512(row.add(pos[0].base + s * tap_step).cast());
                let d1 = _mm512_loadu_si512(row.add(pos[1].base + s * tap_step).cast());
                let wt = w.add((t * blocks + b) * 4);
                for j in 0..4 {
                    let wj = _mm512_loadu_si512(wt.add(j));
                    acc[0][j] = _mm512_dpbusd_epi32(acc[0][j], d0, wj);
                    acc[1][j] = _mm512_dpbusd_epi32(acc[1][j], d1, wj);
                    if T3 {
                        // Window sums: weight 1 in byte j of every lane.
                        let one = _mm512_set1_epi32(1 << (8 * j));
                        sums[0][j] = _mm512_dpbusd_epi32(sums[0][j], d0, one);
                        sums[1][j] = _mm512_dpbusd_epi32(sums[1][j], d1, one);
                    }
                }
            }
        }
    }
    if let Some((p, mult)) = fast {
        for q in 0..2 {
            let mut v = acc[q];
            if T3 && let Some(t3) = e.t3_zero_point {
                // SAFETY: 64 i32 of T3 zero points in lane order; AVX-512 F.
                unsafe {
                    for j in 0..4 {
                        let z = _mm512_loadu_si512(t3[b * BLOCK + 16 * j..][..16].as_ptr().cast());
                        v[j] = _mm512_sub_epi32(v[j], _mm512_mullo_epi32(z, sums[q][j]));
                    }
                }
            }
            // SAFETY: 64 multipliers of block b (the frame pads to whole blocks); `out + n`
            // bytes inside the output row.
            unsafe {
                let bytes = block_bytes(&v, mult.add(b * BLOCK), p);
                let out = args.out.add(pos[q].out);
                if pos[q].n == BLOCK {
                    _mm512_storeu_si512(out.cast(), bytes);
                } else {
                    _mm512_mask_storeu_epi8(out.cast(), u64::MAX >> (64 - pos[q].n), bytes);
                }
            }
        }
        return;
    }
    let size = e.out_dtype.size_bytes();
    for q in 0..2 {
        let window = if T3 { Some(&sums[q]) } else { None };
        let r = requant_block(&acc[q], e, b * BLOCK, window);
        // SAFETY: `out + n` elements lie inside the output row.
        unsafe { store_channels(&r, e.out_dtype, args.out.add(pos[q].out * size), pos[q].n) };
    }
}

/// Stores lane-ordered results in channel order: channel `4i + j` is lane `i` of `r[j]`.
///
/// # Safety
/// `out` valid for `n ≤ 64` elements of `dtype`; AVX-512 F/BW.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn store_channels(r: &[__m512i; 4], dtype: DType, out: *mut u8, n: usize) {
    // SAFETY: the caller's pointer and CPU features; masks keep stores within `n`.
    unsafe {
        if dtype == DType::I32 {
            let l = r.map(lanes);
            let mut v = [0i32; 64];
            for (c, x) in v.iter_mut().enumerate() {
                *x = l[c % 4][c / 4];
            }
            std::ptr::copy_nonoverlapping(v.as_ptr().cast::<u8>(), out, 4 * n);
            return;
        }
        // Values are clamped to u8 or i8: their low bytes, shifted into place
        // (ternary logic 0xF8 is `a | (b & c)`).
        let mut t = _mm512_and_si512(r[0], _mm512_set1_epi32(0xff));
        let (m1, m2) = (_mm512_set1_epi32(0xff00), _mm512_set1_epi32(0xff_0000));
        t = _mm512_ternarylogic_epi32(t, _mm512_slli_epi32(r[1], 8), m1, 0xF8);
        t = _mm512_ternarylogic_epi32(t, _mm512_slli_epi32(r[2], 16), m2, 0xF8);
        t = _mm512_or_si512(t, _mm512_slli_epi32(r[3], 24));
        if n == 64 {
            _mm512_storeu_si512(out.cast(), t);
        } else {
            _mm512_mask_storeu_epi8(out.cast(), u64::MAX >> (64 - n), t);
        }
    }
}
