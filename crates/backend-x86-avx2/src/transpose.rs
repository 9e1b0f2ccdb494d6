//! Blocked transposes (the contract: `qnn_ir::backend::TransposeArgs`): the layout changes
//! at a graph's edges, NCHW ↔ NHWC, optionally quantizing f32 into 8 bits on the way in or
//! dequantizing on the way out, so the edge costs one pass over the data.
//!
//! The quantizing form reads 8 columns (pixels) of each row (channel) as f32 lanes,
//! quantizes them with the element-wise kernel's arithmetic, and writes each byte to its
//! interleaved place; 4-byte elements move as 8×8 register transposes; bytes and the
//! dequantizing form go element by element inside the frame's cache-sized blocks.

use std::arch::x86_64::*;

use qnn_ir::backend::{TransposeArgs, TransposeConvert};

use crate::elementwise::{load_f32, quantize_lanes, store_f32};

/// f32 `(r, c)` → quantized 8-bit `(c, r)` ([`TransposeConvert::Quantize`]).
///
/// # Safety
/// The [`TransposeArgs`] contract with this conversion, f32 input, 8-bit output; AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn quantize_f32_to_8bit(args: &TransposeArgs<'_>) {
    let TransposeConvert::Quantize { scale, zero_point, lo, hi } = *args.convert else { return };
    let (s, z) = (_mm256_set1_ps(scale), _mm256_set1_ps(zero_point));
    let (vlo, vhi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
    let mut c0 = 0;
    while c0 < args.cols {
        let n = (args.cols - c0).min(8);
        for r in 0..args.rows {
            // SAFETY: row r holds `cols` f32 from `src + r · src_stride`; `c0 + n ≤ cols`.
            let x = unsafe { load_f32(args.src.add(4 * (r * args.src_stride + c0)), n) };
            // SAFETY: `__m256i` and `[i32; 8]` are both 32 plain bytes.
            let q: [i32; 8] = unsafe { std::mem::transmute(quantize_lanes(x, s, z, vlo, vhi)) };
            for (j, &v) in q.iter().enumerate().take(n) {
                // SAFETY: output element (c0 + j, r) is inside the block.
                unsafe { *args.dst.add((c0 + j) * args.dst_stride + r) = v as u8 };
            }
        }
        c0 += n;
    }
}

/// 8-bit `(r, c)` → f32 `(c, r)`: `f32(x − zero_point) · scale`
/// ([`TransposeConvert::Dequantize`]).
///
/// # Safety
/// The [`TransposeArgs`] contract with this conversion, 8-bit input, f32 output; AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn dequantize_8bit_to_f32<const SIGNED: bool>(args: &TransposeArgs<'_>) {
    let TransposeConvert::Dequantize { zero_point, scale } = *args.convert else { return };
    // Eight rows at a time become eight consecutive f32 of one output row.
    let (z, s) = (_mm256_set1_epi32(zero_point), _mm256_set1_ps(scale));
    let mut r0 = 0;
    while r0 < args.rows {
        let n = (args.rows - r0).min(8);
        for c in 0..args.cols {
            let mut x = [0i32; 8];
            for (i, v) in x.iter_mut().enumerate().take(n) {
                // SAFETY: input element (r0 + i, c) is inside the block.
                let b = unsafe { *args.src.add((r0 + i) * args.src_stride + c) };
                *v = if SIGNED { i32::from(b as i8) } else { i32::from(b) };
            }
            // SAFETY: a local array of 8 i32.
            let xv = unsafe { _mm256_loadu_si256(x.as_ptr().cast()) };
            let y = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(xv, z)), s);
            // SAFETY: output row c holds the block's rows r0 .. r0 + n.
            unsafe { store_f32(args.dst.add(4 * (c * args.dst_stride + r0)), y, n) };
        }
        r0 += n;
    }
}

/// 4-byte elements unchanged ([`TransposeConvert::None`]): 8×8 blocks through registers
/// (`vunpck*ps`, `vshufps`, `vperm2f128`), the edges element by element.
///
/// # Safety
/// The [`TransposeArgs`] contract with no conversion and 4-byte elements; AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn transpose_4byte(args: &TransposeArgs<'_>) {
    let (rows, cols) = (args.rows, args.cols);
    let src = args.src.cast::<f32>();
    let dst = args.dst.cast::<f32>();
    let (full_r, full_c) = (rows / 8 * 8, cols / 8 * 8);
    for r0 in (0..full_r).step_by(8) {
        for c0 in (0..full_c).step_by(8) {
            // SAFETY: the 8×8 block at (r0, c0) is inside the input, and its transpose
            // inside the output.
            unsafe {
                let v: [__m256; 8] = std::array::from_fn(|i| {
                    _mm256_loadu_ps(src.add((r0 + i) * args.src_stride + c0))
                });
                let t = transpose8(v);
                for (j, row) in t.iter().enumerate() {
                    _mm256_storeu_ps(dst.add((c0 + j) * args.dst_stride + r0), *row);
                }
            }
        }
    }
    // The right and bottom edges.
    for r in 0..rows {
        let from = if r < full_r { full_c } else { 0 };
        for c in from..cols {
            // SAFETY: (r, c) is inside the input block, (c, r) inside the output.
            unsafe { *dst.add(c * args.dst_stride + r) = *src.add(r * args.src_stride + c) };
        }
    }
}

/// An 8×8 transpose of f32 lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose8(v: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(v[0], v[1]);
    let t1 = _mm256_unpackhi_ps(v[0], v[1]);
    let t2 = _mm256_unpacklo_ps(v[2], v[3]);
    let t3 = _mm256_unpackhi_ps(v[2], v[3]);
    let t4 = _mm256_unpacklo_ps(v[4], v[5]);
    let t5 = _mm256_unpackhi_ps(v[4], v[5]);
    let t6 = _mm256_unpacklo_ps(v[6], v[7]);
    let t7 = _mm256_unpackhi_ps(v[6], v[7]);
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xee>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xee>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xee>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xee>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
}

/// Bytes unchanged ([`TransposeConvert::None`]): 16×16 blocks through `vpunpck*` on xmm
/// registers, the edges element by element.
///
/// # Safety
/// The [`TransposeArgs`] contract with no conversion and 1-byte elements; AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn transpose_byte(args: &TransposeArgs<'_>) {
    let (rows, cols) = (args.rows, args.cols);
    let (full_r, full_c) = (rows / 16 * 16, cols / 16 * 16);
    for r0 in (0..full_r).step_by(16) {
        for c0 in (0..full_c).step_by(16) {
            // SAFETY: the 16×16 block at (r0, c0) is inside the input, its transpose inside
            // the output.
            unsafe {
                let v: [__m128i; 16] = std::array::from_fn(|i| {
                    _mm_loadu_si128(args.src.add((r0 + i) * args.src_stride + c0).cast())
                });
                let t = transpose16(v);
                for (j, row) in t.iter().enumerate() {
                    _mm_storeu_si128(args.dst.add((c0 + j) * args.dst_stride + r0).cast(), *row);
                }
            }
        }
    }
    for r in 0..rows {
        let from = if r < full_r { full_c } else { 0 };
        for c in from..cols {
            // SAFETY: (r, c) is inside the input block, (c, r) inside the output.
            unsafe {
                *args.dst.add(c * args.dst_stride + r) = *args.src.add(r * args.src_stride + c)
            };
        }
    }
}

/// A 16×16 byte transpose: four rounds of interleaving (bytes, words, dwords, qwords).
#[inline]
#[target_feature(enable = "avx2")]
fn transpose16(v: [__m128i; 16]) -> [__m128i; 16] {
    let mut a = v;
    let mut b = [_mm_setzero_si128(); 16];
    for i in 0..8 {
        b[2 * i] = _mm_unpacklo_epi8(a[2 * i], a[2 * i + 1]);
        b[2 * i + 1] = _mm_unpackhi_epi8(a[2 * i], a[2 * i + 1]);
    }
    for i in 0..4 {
        for k in 0..2 {
            a[4 * i + k] = _mm_unpacklo_epi16(b[4 * i + k], b[4 * i + 2 + k]);
            a[4 * i + 2 + k] = _mm_unpackhi_epi16(b[4 * i + k], b[4 * i + 2 + k]);
        }
    }
    for i in 0..2 {
        for k in 0..4 {
            b[8 * i + k] = _mm_unpacklo_epi32(a[8 * i + k], a[8 * i + 4 + k]);
            b[8 * i + 4 + k] = _mm_unpackhi_epi32(a[8 * i + k], a[8 * i + 4 + k]);
        }
    }
    for k in 0..8 {
        a[k] = _mm_unpacklo_epi64(b[k], b[8 + k]);
        a[8 + k] = _mm_unpackhi_epi64(b[k], b[8 + k]);
    }
    // After the rounds, register p holds output row `perm(p)`: undo the interleave order.
    let mut out = [_mm_setzero_si128(); 16];
    for (p, reg) in a.iter().enumerate() {
        out[ROW_OF[p]] = *reg;
    }
    out
}

/// Which output row each register holds after the four interleaving rounds of
/// [`transpose16`] (derived by following one byte's column through the rounds; checked by
/// the tests on every position).
const ROW_OF: [usize; 16] = {
    // Register index bits, after the rounds: the byte-round picked bit 0 of the column (lo/
    // hi = column bit 3), the word-round bit 2, the dword-round bit 1, the qword-round bit 0
    // — each round splits the remaining 8 columns of a register into its lo and hi halves.
    let mut t = [0usize; 16];
    let mut p = 0;
    while p < 16 {
        // p = q·8 + d·4 + w·2 + b, where b came from the byte round (column bit 3), w from
        // the word round (bit 2), d from the dword round (bit 1), q from the qword round
        // (bit 0).
        let (b, w, d, q) = (p & 1, (p >> 1) & 1, (p >> 2) & 1, (p >> 3) & 1);
        t[p] = (b << 3) | (w << 2) | (d << 1) | q;
        p += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_transpose_moves_every_position() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("SKIPPED: no AVX2");
            return;
        }
        for (rows, cols) in [(16, 16), (32, 48), (17, 35), (3, 100), (40, 3)] {
            let src: Vec<u8> = (0..rows * cols).map(|i| (i * 7 + 3) as u8).collect();
            let mut dst = vec![0u8; rows * cols];
            let args = TransposeArgs {
                src: src.as_ptr(),
                src_stride: cols,
                dst: dst.as_mut_ptr(),
                dst_stride: rows,
                rows,
                cols,
                convert: &TransposeConvert::None,
            };
            // SAFETY: the buffers match the args; AVX2 checked above.
            unsafe { transpose_byte(&args) };
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(dst[c * rows + r], src[r * cols + c], "{rows}×{cols} at ({r}, {c})");
                }
            }
        }
    }
}
