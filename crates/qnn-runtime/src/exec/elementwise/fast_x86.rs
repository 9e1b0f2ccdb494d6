//! The whole-group forms of [`FastForm`] written with AVX-512, straight from the
//! input bytes to the output bytes (no register chunks), 16 lanes per instruction:
//!
//! * `QLinearAdd`: `clamp(rne(fma(a, m_a, fma(b, m_b, c))))` on two 8-bit operands;
//! * `Quantize`: `clamp(rne(x / s) + z)` from f32, also with its NCHW → NHWC store fused
//!   (the graph input's quantization followed by the layout conversion), split over the
//!   pool by output rows.
//!
//! Each lane performs exactly the IEEE operations of the scalar form (`vdivps` is the
//! correctly rounded quotient, `vfmadd` one rounding, `vrndscaleps` round half to even, the
//! same clamps, NaN → 0), so the bytes are the same; `tests/fast_forms.rs` and the unit
//! tests below compare them.

use std::arch::x86_64::*;
use std::ops::Range;

use qnn_ir::DType;
use qnn_kernels::{KernelError, ThreadPool};

use crate::program::elementwise::fast::FastForm;
use crate::program::elementwise::{ElementwiseGroup, Reg, Scatter};

/// Whether this CPU runs the AVX-512 forms.
fn avx512() -> bool {
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")
}

/// The form of a group that [`run_group`] computes: one 8-bit store, a fast form.
fn byte_store(g: &ElementwiseGroup) -> Option<&FastForm> {
    let f = g.fast.as_ref()?;
    matches!(g.stores.as_slice(), [(Reg::I(_), DType::U8 | DType::I8)]).then_some(f)
}

/// `[N, C, H, W]` when `sc` stores that shape as NHWC.
fn nchw_to_nhwc(sc: &Scatter) -> Option<[usize; 4]> {
    let &[n, c, h, w] = sc.shape.as_slice() else { return None };
    (sc.strides == [h * w * c, 1, w * c, c]).then_some([n, c, h, w])
}

/// Runs `g` with the AVX-512 forms when it is one of them and the CPU has AVX-512 F/BW;
/// `None` leaves it to the general evaluator.
pub(crate) fn run_group(
    g: &ElementwiseGroup,
    inputs: &[&[u8]],
    outs: &mut [&mut [u8]],
    pool: &ThreadPool,
    min_parallel: usize,
) -> Option<Result<(), KernelError>> {
    let form = byte_store(g)?;
    if !avx512() {
        return None;
    }
    let [out] = outs else { return None };
    let out = OutBytes(out.as_mut_ptr(), out.len());
    match (&g.scatter[..], form) {
        ([None], _) => {
            let tasks =
                if g.len >= min_parallel { pool.threads().min(g.len / 4096).max(1) } else { 1 };
            let run = |t: usize| {
                let r = qnn_kernels::threads::split(g.len, tasks, t);
                // SAFETY: tasks take disjoint ranges of the output (split); the CPU has
                // AVX-512 F/BW (checked above).
                unsafe { flat(form, inputs, out.range(r.clone()), r) };
            };
            Some(if tasks == 1 {
                run(0);
                Ok(())
            } else {
                pool.run(tasks, &run)
            })
        }
        ([Some(sc)], &FastForm::Quantize { x, s, z, lo, hi }) => {
            let shape = nchw_to_nhwc(sc)?;
            let [n, c, h, w] = shape;
            let rows = n * h;
            let tasks = if g.len >= min_parallel { pool.threads().min(rows).max(1) } else { 1 };
            let q = Quant { s, z, lo, hi };
            let run = |t: usize| {
                let r = qnn_kernels::threads::split(rows, tasks, t);
                // SAFETY: tasks take disjoint output rows (split); the CPU has AVX-512 F/BW.
                unsafe {
                    quantize_to_nhwc(
                        &q,
                        inputs[x],
                        shape,
                        r.clone(),
                        out.range(r.start * w * c..r.end * w * c),
                    )
                };
            };
            Some(if tasks == 1 {
                run(0);
                Ok(())
            } else {
                pool.run(tasks, &run)
            })
        }
        _ => None,
    }
}

/// Parameters of the quantize form.
struct Quant {
    s: f32,
    z: f32,
    lo: f32,
    hi: f32,
}

/// The output bytes, shared by tasks that each write their own part.
#[derive(Clone, Copy)]
struct OutBytes(*mut u8, usize);

// SAFETY: tasks only touch disjoint ranges (see `range`).
unsafe impl Sync for OutBytes {}
// SAFETY: as above.
unsafe impl Send for OutBytes {}

impl OutBytes {
    /// Bytes `r` of the output.
    ///
    /// # Safety
    /// No other live reference overlaps `r`; `r` inside the output.
    #[allow(clippy::mut_from_ref)]
    unsafe fn range(&self, r: Range<usize>) -> &mut [u8] {
        assert!(r.start <= r.end && r.end <= self.1, "range inside the output");
        // SAFETY: in bounds (asserted) and not aliased (the caller's guarantee).
        unsafe { std::slice::from_raw_parts_mut(self.0.add(r.start), r.len()) }
    }
}

/// Elements `range` of a form without scatter into `out` (the bytes of those elements).
///
/// # Safety
/// AVX-512 F/BW.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn flat(form: &FastForm, inputs: &[&[u8]], out: &mut [u8], range: Range<usize>) {
    let n = range.len();
    match *form {
        FastForm::QLinearAdd { a: (a, da), b: (b, db), ma, mb, c, lo, hi } => {
            let (xa, xb) = (&inputs[a][range.clone()], &inputs[b][range]);
            let (vma, vmb, vc) = (_mm512_set1_ps(ma), _mm512_set1_ps(mb), _mm512_set1_ps(c));
            let (vlo, vhi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi));
            let add16 = |p: __m128i, q: __m128i| {
                let t = _mm512_fmadd_ps(bytes_to_f32(q, db), vmb, vc);
                let r = round_even(_mm512_fmadd_ps(bytes_to_f32(p, da), vma, t));
                _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(clamp_nan0(r, vlo, vhi)))
            };
            let mut i = 0;
            // 64 elements per iteration, unmasked.
            while i + 64 <= n {
                // SAFETY: 64 bytes at `i` are inside both operands and the output.
                unsafe {
                    let pa = xa.as_ptr().add(i).cast::<__m128i>();
                    let pb = xb.as_ptr().add(i).cast::<__m128i>();
                    let po = out.as_mut_ptr().add(i).cast::<__m128i>();
                    for j in 0..4 {
                        let r = add16(_mm_loadu_si128(pa.add(j)), _mm_loadu_si128(pb.add(j)));
                        _mm_storeu_si128(po.add(j), r);
                    }
                }
                i += 64;
            }
            while i < n {
                let k = (n - i).min(16);
                let m = mask16(k);
                // SAFETY: `k` bytes at `i` are inside both operands and the output.
                unsafe {
                    let p = _mm_maskz_loadu_epi8(m, xa.as_ptr().add(i).cast());
                    let q = _mm_maskz_loadu_epi8(m, xb.as_ptr().add(i).cast());
                    _mm_mask_storeu_epi8(out.as_mut_ptr().add(i).cast(), m, add16(p, q));
                }
                i += k;
            }
        }
        FastForm::Quantize { x, s, z, lo, hi } => {
            let src = &inputs[x][range.start * 4..range.end * 4];
            let q = Quant { s, z, lo, hi };
            let mut i = 0;
            while i < n {
                let k = (n - i).min(16);
                let m = mask16(k);
                // SAFETY: `k` f32 at `i` are inside the input, `k` bytes inside the output.
                unsafe {
                    let v = _mm512_maskz_loadu_ps(m, src.as_ptr().add(4 * i).cast());
                    store_bytes(out.as_mut_ptr().add(i), m, quantize16(&q, v));
                }
                i += k;
            }
        }
    }
}

/// Output rows `rows` (`n · H + h`) of the NHWC quantization of the NCHW f32 `input`, into
/// `out` (those rows' bytes).
///
/// # Safety
/// AVX-512 F/BW.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantize_to_nhwc(
    q: &Quant,
    input: &[u8],
    [_, c, h, w]: [usize; 4],
    rows: Range<usize>,
    out: &mut [u8],
) {
    if c <= 4 && is_x86_feature_detected!("avx512vbmi") {
        // SAFETY: the CPU has AVX-512 F/BW (the caller) and VBMI (just checked).
        unsafe { quantize_to_nhwc_few(q, input, [c, h, w], rows, out) };
    } else {
        // SAFETY: the CPU has AVX-512 F/BW (the caller).
        unsafe { quantize_to_nhwc_any(q, input, [c, h, w], rows, out) };
    }
}

/// [`quantize_to_nhwc`] for any channel count: one block of 16 pixels has its channels
/// quantized into a tile, then copied out in pixel order.
///
/// # Safety
/// AVX-512 F/BW.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantize_to_nhwc_any(
    q: &Quant,
    input: &[u8],
    [c, h, w]: [usize; 3],
    rows: Range<usize>,
    out: &mut [u8],
) {
    let mut tile = [0u8; 16 * 64];
    let chans = c.min(64);
    for (k, row) in rows.enumerate() {
        let (n, y) = (row / h, row % h);
        let dst_row = &mut out[k * w * c..(k + 1) * w * c];
        let mut x = 0;
        while x < w {
            let len = (w - x).min(16);
            let m = mask16(len);
            for c0 in (0..c).step_by(chans) {
                let cn = chans.min(c - c0);
                for j in 0..cn {
                    let at = (((n * c + c0 + j) * h + y) * w + x) * 4;
                    // SAFETY: `len` f32 of channel `c0 + j`, row `y` from pixel `x` are
                    // inside the input; the tile holds 16 bytes per channel.
                    unsafe {
                        let v = _mm512_maskz_loadu_ps(m, input.as_ptr().add(at).cast());
                        store_bytes(tile.as_mut_ptr().add(16 * j), m, quantize16(q, v));
                    }
                }
                for p in 0..len {
                    let d = &mut dst_row[(x + p) * c + c0..(x + p) * c + c0 + cn];
                    for (j, b) in d.iter_mut().enumerate() {
                        *b = tile[16 * j + p];
                    }
                }
            }
            x += len;
        }
    }
}

/// [`quantize_to_nhwc`] for at most 4 channels (images): the channels' 16 bytes each sit in
/// one zmm, and one `vpermb` interleaves them into 16 pixels × C bytes.
///
/// # Safety
/// AVX-512 F/BW/VBMI; `c ≤ 4`.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn quantize_to_nhwc_few(
    q: &Quant,
    input: &[u8],
    [c, h, w]: [usize; 3],
    rows: Range<usize>,
    out: &mut [u8],
) {
    // Output byte k of a block is channel k % c of pixel k / c: tile byte 16·(k % c) + k / c.
    let mut idx = [0u8; 64];
    for (k, i) in idx.iter_mut().enumerate().take(16 * c) {
        *i = (16 * (k % c) + k / c) as u8;
    }
    // SAFETY: 64 bytes.
    let idx = unsafe { _mm512_loadu_si512(idx.as_ptr().cast()) };
    for (k, row) in rows.enumerate() {
        let (n, y) = (row / h, row % h);
        let dst = &mut out[k * w * c..(k + 1) * w * c];
        let mut x = 0;
        while x < w {
            let len = (w - x).min(16);
            let m = mask16(len);
            let mut tile = _mm512_setzero_si512();
            for j in 0..c {
                let at = (((n * c + j) * h + y) * w + x) * 4;
                // SAFETY: `len` f32 of channel `j`, row `y` from pixel `x` are inside the
                // input.
                let v = unsafe { _mm512_maskz_loadu_ps(m, input.as_ptr().add(at).cast()) };
                let b = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(quantize16(q, v)));
                tile = match j {
                    0 => _mm512_inserti32x4::<0>(tile, b),
                    1 => _mm512_inserti32x4::<1>(tile, b),
                    2 => _mm512_inserti32x4::<2>(tile, b),
                    _ => _mm512_inserti32x4::<3>(tile, b),
                };
            }
            let bytes = len * c;
            let keep = if bytes >= 64 { u64::MAX } else { (1u64 << bytes) - 1 };
            // SAFETY: `len · c` bytes from pixel `x` are inside the output row.
            unsafe {
                _mm512_mask_storeu_epi8(
                    dst.as_mut_ptr().add(x * c).cast(),
                    keep,
                    _mm512_permutexvar_epi8(idx, tile),
                )
            };
            x += len;
        }
    }
}

/// The low `k ≤ 16` lanes.
#[inline(always)]
fn mask16(k: usize) -> __mmask16 {
    if k >= 16 { 0xffff } else { (1u16 << k) - 1 }
}

/// 16 bytes (u8 or i8) as f32 (exact).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn bytes_to_f32(b: __m128i, dtype: DType) -> __m512 {
    let i = if dtype == DType::I8 { _mm512_cvtepi8_epi32(b) } else { _mm512_cvtepu8_epi32(b) };
    _mm512_cvtepi32_ps(i)
}

/// Round half to even (`vrndscaleps` imm 8: to nearest, no exceptions), the scalar
/// `round_half_even` on every input (signed zeros, ±∞ and NaN pass through).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn round_even(v: __m512) -> __m512 {
    _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v)
}

/// `NaN → 0, else min(max(v, lo), hi)`, as the scalar forms clamp.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn clamp_nan0(v: __m512, lo: __m512, hi: __m512) -> __m512 {
    let ordered = _mm512_cmp_ps_mask::<_CMP_ORD_Q>(v, v);
    _mm512_maskz_mov_ps(ordered, _mm512_min_ps(_mm512_max_ps(v, lo), hi))
}

/// `clamp(rne(x / s) + z)` on 16 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn quantize16(q: &Quant, v: __m512) -> __m512 {
    let r = _mm512_add_ps(round_even(_mm512_div_ps(v, _mm512_set1_ps(q.s))), _mm512_set1_ps(q.z));
    clamp_nan0(r, _mm512_set1_ps(q.lo), _mm512_set1_ps(q.hi))
}

/// Stores the lanes of `m` (integral values inside an 8-bit range) as bytes.
///
/// # Safety
/// `out` valid for the lanes of `m`; AVX-512 F/BW.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn store_bytes(out: *mut u8, m: __mmask16, v: __m512) {
    // Integral and inside −128..=255: the conversion is exact and the low byte is the value.
    let b = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v));
    // SAFETY: the caller's pointer, for the lanes of `m`.
    unsafe { _mm_mask_storeu_epi8(out.cast(), m, b) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::elementwise::numeric::round_half_even;

    /// Scalar `QLinearAdd` and `Quantize`, as `fast.rs` computes them.
    fn scalar_add(p: f32, q: f32, ma: f32, mb: f32, c: f32, lo: f32, hi: f32) -> u8 {
        let r = round_half_even(p.mul_add(ma, q.mul_add(mb, c)));
        let v = if r.is_nan() { 0.0 } else { r.max(lo).min(hi) };
        v as i32 as u8
    }

    fn scalar_quantize(x: f32, s: f32, z: f32, lo: f32, hi: f32) -> u8 {
        let r = round_half_even(x / s) + z;
        let v = if r.is_nan() { 0.0 } else { r.max(lo).min(hi) };
        v as i32 as u8
    }

    /// Every pair of u8 operands, with multipliers that put many results on ties, and
    /// extreme ones (∞ and NaN results).
    #[test]
    fn qlinear_add_equals_the_scalar_form() {
        if !avx512() {
            return;
        }
        let a: Vec<u8> = (0..65536).map(|i| (i % 256) as u8).collect();
        let b: Vec<u8> = (0..65536).map(|i| (i / 256) as u8).collect();
        for (ma, mb, c) in [
            (0.5, 0.25, 3.0),
            (1.5, -0.75, 100.5),
            (0.3, 0.7, -12.0),
            (f32::MAX, f32::MAX, 0.0),
            (f32::INFINITY, f32::NEG_INFINITY, 1.0),
        ] {
            for (lo, hi, d) in [(0.0, 255.0, DType::U8), (-128.0, 127.0, DType::I8)] {
                let form = FastForm::QLinearAdd { a: (0, d), b: (1, d), ma, mb, c, lo, hi };
                let mut out = vec![0u8; a.len() - 3];
                let n = out.len();
                // SAFETY: AVX-512 F/BW checked above.
                unsafe { flat(&form, &[&a, &b], &mut out, 0..n) };
                for i in 0..n {
                    let (p, q) = if d == DType::I8 {
                        (a[i] as i8 as f32, b[i] as i8 as f32)
                    } else {
                        (a[i] as f32, b[i] as f32)
                    };
                    assert_eq!(out[i], scalar_add(p, q, ma, mb, c, lo, hi), "{i}: {ma} {mb} {c}");
                }
            }
        }
    }

    #[test]
    fn quantize_equals_the_scalar_form_flat_and_transposed() {
        if !avx512() {
            return;
        }
        let mut xs: Vec<f32> = (0..5000).map(|i| (i as f32 - 2500.0) * 0.0371).collect();
        xs.extend([
            0.5,
            -0.5,
            1.5,
            2.5,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e30,
            -1e30,
        ]);
        let bytes: Vec<u8> = xs.iter().flat_map(|v| v.to_le_bytes()).collect();
        for (s, z, lo, hi) in
            [(0.038_592_4, 128.0, 0.0, 255.0), (1.0, 0.0, -128.0, 127.0), (0.5, 3.0, 0.0, 255.0)]
        {
            let q = Quant { s, z, lo, hi };
            let form = FastForm::Quantize { x: 0, s, z, lo, hi };
            let mut out = vec![0u8; xs.len()];
            // SAFETY: AVX-512 F/BW checked above.
            unsafe { flat(&form, &[&bytes], &mut out, 0..xs.len()) };
            for (i, &x) in xs.iter().enumerate() {
                assert_eq!(out[i], scalar_quantize(x, s, z, lo, hi), "{x}");
            }
            // [2, C, 7, 19] NCHW → NHWC, rows 3..11 of 14, both interleavings.
            for ch in [1, 3, 4, 5, 70] {
                let xs: Vec<f32> = (0..2 * ch * 7 * 19).map(|i| xs[(i * 7) % xs.len()]).collect();
                let bytes: Vec<u8> = xs.iter().flat_map(|v| v.to_le_bytes()).collect();
                let few = ch <= 4 && is_x86_feature_detected!("avx512vbmi");
                for vbmi in [false, few] {
                    let mut t = vec![0u8; 8 * 19 * ch];
                    // SAFETY: AVX-512 F/BW (and VBMI where used) checked above.
                    unsafe {
                        if vbmi {
                            quantize_to_nhwc_few(&q, &bytes, [ch, 7, 19], 3..11, &mut t);
                        } else {
                            quantize_to_nhwc_any(&q, &bytes, [ch, 7, 19], 3..11, &mut t);
                        }
                    }
                    for row in 3..11 {
                        let (n, y) = (row / 7, row % 7);
                        for x in 0..19 {
                            for c in 0..ch {
                                let v = xs[((n * ch + c) * 7 + y) * 19 + x];
                                let got = t[((row - 3) * 19 + x) * ch + c];
                                assert_eq!(got, scalar_quantize(v, s, z, lo, hi), "C={ch} {vbmi}");
                            }
                        }
                    }
                }
            }
        }
    }
}
