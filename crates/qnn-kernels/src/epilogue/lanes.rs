//! The epilogue arithmetic, written once over `L` lanes.
//!
//! Every function is `#[inline(always)]` and loops over fixed-size arrays with no
//! cross-lane dependence: a backend calls it from inside its own `#[target_feature]`
//! function and LLVM vectorizes it for that ISA (zmm on AVX-512, ymm on AVX2, NEON on Arm).
//! The mode dispatch (`match` on the requantize kind) sits outside the lane loops.
//!
//! Exactness (ARCHITECTURE.md §4): `v` is exact in wrapping i32 because
//! [`check_accumulator_range`](super::check_accumulator_range) proved the true value fits;
//! the fixed-point product `v · q` is exact in i64 (`|v · q| < 2^62`); the f32 path performs
//! the same IEEE operations in the same order as ONNX Runtime (`round_ties_even`, no FMA).

use qnn_ir::DType;
use qnn_ir::FixedRounding;
use qnn_ir::backend::{Epilogue, RequantLanes, TileOutput};

/// `acc + bias[at + l]`, before the T3 term.
#[inline(always)]
pub fn add_bias<const L: usize>(acc: &[i32; L], e: &Epilogue<'_>, at: usize) -> [i32; L] {
    let bias: &[i32; L] = lanes(e.bias, at);
    let mut v = [0i32; L];
    for l in 0..L {
        v[l] = acc[l].wrapping_add(bias[l]);
    }
    v
}

/// `v − t3[at + l] · sum`: the T3 term of one GEMM row (one window sum for every lane).
#[inline(always)]
pub fn sub_t3_row<const L: usize>(v: &mut [i32; L], t3: &[i32], at: usize, sum: i32) {
    let z: &[i32; L] = lanes(t3, at);
    for l in 0..L {
        v[l] = v[l].wrapping_sub(z[l].wrapping_mul(sum));
    }
}

/// `v − t3[at + l] · sums[l]`: the T3 term with one window sum per lane (depthwise).
#[inline(always)]
pub fn sub_t3_lanes<const L: usize>(v: &mut [i32; L], t3: &[i32], at: usize, sums: &[i32; L]) {
    let z: &[i32; L] = lanes(t3, at);
    for l in 0..L {
        v[l] = v[l].wrapping_sub(z[l].wrapping_mul(sums[l]));
    }
}

/// The `L` entries of `s` from `at`. Panics (a frame bug, never a data condition) when the
/// slice is short: the frame pads every parameter array to whole tiles.
#[inline(always)]
fn lanes<T, const L: usize>(s: &[T], at: usize) -> &[T; L] {
    s[at..at + L].try_into().expect("epilogue parameters are padded to whole tiles")
}

/// The requantize modes, for kernels that dispatch once per tile ([`mode_of`], then
/// [`requantize_as`]) instead of once per call of [`requantize`].
pub mod mode {
    /// No requantize: clamp only (i32 output).
    pub const RAW: u8 = 0;
    /// f32, u8/i8 output.
    pub const FLOAT_NARROW: u8 = 1;
    /// f32, i32 output.
    pub const FLOAT_I32: u8 = 2;
    /// Fixed point, ties up.
    pub const FIXED_UPWARD: u8 = 3;
    /// Fixed point, ties away from zero.
    pub const FIXED_TONEAREST: u8 = 4;
    /// Fixed point, TFLite's double rounding.
    pub const FIXED_TFLITE: u8 = 5;
}

/// The requantize mode of an epilogue (see [`mode`]).
#[inline(always)]
pub fn mode_of(e: &Epilogue<'_>) -> u8 {
    match e.requant {
        RequantLanes::None => mode::RAW,
        RequantLanes::Float { .. } if e.out_dtype == DType::I32 => mode::FLOAT_I32,
        RequantLanes::Float { .. } => mode::FLOAT_NARROW,
        RequantLanes::Fixed { rounding: FixedRounding::Upward, .. } => mode::FIXED_UPWARD,
        RequantLanes::Fixed { rounding: FixedRounding::ToNearest, .. } => mode::FIXED_TONEAREST,
        RequantLanes::Fixed { rounding: FixedRounding::Tflite, .. } => mode::FIXED_TFLITE,
    }
}

/// Requantizes and clamps `v` (channel slots `at ..`): the output values as i32.
#[inline(always)]
pub fn requantize<const L: usize>(v: &[i32; L], e: &Epilogue<'_>, at: usize) -> [i32; L] {
    match mode_of(e) {
        mode::RAW => requantize_as::<L, { mode::RAW }>(v, e, at),
        mode::FLOAT_NARROW => requantize_as::<L, { mode::FLOAT_NARROW }>(v, e, at),
        mode::FLOAT_I32 => requantize_as::<L, { mode::FLOAT_I32 }>(v, e, at),
        mode::FIXED_UPWARD => requantize_as::<L, { mode::FIXED_UPWARD }>(v, e, at),
        mode::FIXED_TONEAREST => requantize_as::<L, { mode::FIXED_TONEAREST }>(v, e, at),
        _ => requantize_as::<L, { mode::FIXED_TFLITE }>(v, e, at),
    }
}

/// [`requantize`] for a mode known at compile time; `M` must be [`mode_of`] the epilogue
/// (a mismatch reads the wrong parameters: it panics on a missing array, never reads out of
/// bounds).
#[inline(always)]
pub fn requantize_as<const L: usize, const M: u8>(
    v: &[i32; L],
    e: &Epilogue<'_>,
    at: usize,
) -> [i32; L] {
    match (M, e.requant) {
        (mode::RAW, _) => clamp_i32(v, e.min, e.max),
        (mode::FLOAT_NARROW, RequantLanes::Float { mult }) => float_narrow(v, lanes(mult, at), e),
        (mode::FLOAT_I32, RequantLanes::Float { mult }) => float_to_i32(v, lanes(mult, at), e),
        (_, RequantLanes::Fixed { mult, shift1, round1, shift2, round2, .. }) => {
            let p = FixedLanes {
                mult: lanes(mult, at),
                shift1: lanes(shift1, at),
                round1: lanes(round1, at),
                shift2: lanes(shift2, at),
                round2: lanes(round2, at),
            };
            match M {
                mode::FIXED_UPWARD => fixed::<L, false, false>(v, &p, e),
                mode::FIXED_TONEAREST => fixed::<L, true, false>(v, &p, e),
                _ => fixed::<L, false, true>(v, &p, e),
            }
        }
        _ => panic!("requantize mode {M} does not match the epilogue"),
    }
}

#[inline(always)]
fn clamp_i32<const L: usize>(v: &[i32; L], lo: i32, hi: i32) -> [i32; L] {
    let mut o = [0i32; L];
    for l in 0..L {
        o[l] = v[l].max(lo).min(hi);
    }
    o
}

/// ONNX Runtime's requantize for a u8/i8 output: `clamp(round_half_even(f32(v) · m) + zp)`
/// in f32, computed as `clamp((y + C) − (C − zp))` with `C = 1.5 · 2^23`.
///
/// Why it is the same: for `|y| < 2^22`, `y + C` lies in `[2^23, 2^24)`, where f32 holds
/// exactly the integers, so the addition rounds `y` to an integer, ties to even (`C` is
/// even), exactly as `round_ties_even`; subtracting `C − zp` (an integer below 2^24) is then
/// exact, and equals `round_ties_even(y) + zp` (also exact there). For `|y| ≥ 2^22` both
/// sides lie beyond every output bound (`|zp| ≤ 255`), on the side of `y`'s sign, so both
/// clamp to the same bound. No NaN can occur (`m` is finite). This avoids `vrndscaleps`,
/// which takes two port-0 µops on x86. Comparisons instead of `f32::max` let the clamp
/// compile to plain `vminps`/`vmaxps`.
#[inline(always)]
fn float_narrow<const L: usize>(v: &[i32; L], mult: &[f32; L], e: &Epilogue<'_>) -> [i32; L] {
    const C: f32 = 12_582_912.0;
    let (czp, lo, hi) = (C - e.zero_point as f32, e.min as f32, e.max as f32);
    let mut o = [0i32; L];
    for l in 0..L {
        let mut y = (v[l] as f32 * mult[l] + C) - czp;
        y = if y < lo { lo } else { y };
        y = if y > hi { hi } else { y };
        // SAFETY: `y` is an integer value clamped into [min, max] ⊂ [-128, 255].
        o[l] = unsafe { y.to_int_unchecked::<i32>() };
    }
    o
}

/// The same with an i32 output: f32 cannot hold `i32::MAX`, so the final conversion
/// saturates, as the reference's `clamp_f32` does.
#[inline(always)]
fn float_to_i32<const L: usize>(v: &[i32; L], mult: &[f32; L], e: &Epilogue<'_>) -> [i32; L] {
    let (zp, lo, hi) = (e.zero_point as f32, e.min as f32, e.max as f32);
    let mut o = [0i32; L];
    for l in 0..L {
        let mut y = (v[l] as f32 * mult[l]).round_ties_even() + zp;
        y = if y < lo { lo } else { y };
        y = if y > hi { hi } else { y };
        o[l] = (y as i32).max(e.min).min(e.max);
    }
    o
}

struct FixedLanes<'a, const L: usize> {
    mult: &'a [i64; L],
    shift1: &'a [i64; L],
    round1: &'a [i64; L],
    shift2: &'a [i64; L],
    round2: &'a [i64; L],
}

/// Fixed-point requantize in the two stages of [`RequantLanes::Fixed`]: `NEG1` makes stage
/// one round ties away from zero (`tonearest`), `TWO` adds TFLite's second rounding.
#[inline(always)]
fn fixed<const L: usize, const NEG1: bool, const TWO: bool>(
    v: &[i32; L],
    p: &FixedLanes<'_, L>,
    e: &Epilogue<'_>,
) -> [i32; L] {
    let (zp, lo, hi) = (i64::from(e.zero_point), i64::from(e.min), i64::from(e.max));
    let mut o = [0i32; L];
    for l in 0..L {
        let prod = i64::from(v[l]) * p.mult[l];
        let mut t = prod + p.round1[l];
        if NEG1 {
            t -= i64::from(prod < 0 && p.round1[l] != 0);
        }
        t >>= p.shift1[l];
        if TWO {
            let mut u = t + p.round2[l];
            u -= i64::from(t < 0 && p.round2[l] != 0);
            t = u >> p.shift2[l];
        }
        o[l] = (t + zp).max(lo).min(hi) as i32;
    }
    o
}

/// Stores the first `n` of `L` output values at `out` as `dtype` elements.
///
/// # Safety
/// `out` must be valid for `n` elements of `dtype` (u8, i8 or i32), `n ≤ L`.
#[inline(always)]
pub unsafe fn store<const L: usize>(vals: &[i32; L], n: usize, dtype: DType, out: *mut u8) {
    debug_assert!(n <= L);
    match dtype {
        DType::U8 | DType::I8 => {
            // Values are clamped to the dtype, so truncation is exact (u8 and i8 alike).
            let mut b = [0u8; L];
            for l in 0..L {
                b[l] = vals[l] as u8;
            }
            // SAFETY: the caller guarantees `n ≤ L` bytes at `out`. A whole vector is written
            // as a value (one store from a register; going through a stack copy would stall
            // on store forwarding).
            unsafe {
                if n == L {
                    out.cast::<[u8; L]>().write_unaligned(b);
                } else {
                    std::ptr::copy_nonoverlapping(b.as_ptr(), out, n);
                }
            }
        }
        _ => {
            // SAFETY: the caller guarantees `n ≤ L` i32 elements at `out` (any alignment).
            unsafe {
                if n == L {
                    out.cast::<[i32; L]>().write_unaligned(*vals);
                } else {
                    std::ptr::copy_nonoverlapping(vals.as_ptr().cast::<u8>(), out, 4 * n);
                }
            }
        }
    }
}

/// The whole epilogue of one GEMM tile: `acc` rows `< m`, columns `< n`, written to `out`.
///
/// # Safety
/// The pointers of `out` must be valid as [`TileOutput`] describes, for `m ≤ MR` rows and
/// `n ≤ NR` columns.
#[inline(always)]
pub unsafe fn gemm_tile<const MR: usize, const NR: usize>(
    acc: &[[i32; NR]; MR],
    m: usize,
    n: usize,
    out: &TileOutput<'_>,
) {
    match *out {
        TileOutput::Raw { c, row_stride } => {
            for (i, row) in acc.iter().enumerate().take(m) {
                // SAFETY: row i < m of the tile is valid for n i32 elements.
                unsafe { std::ptr::copy_nonoverlapping(row.as_ptr(), c.add(i * row_stride), n) };
            }
        }
        TileOutput::Fused { epilogue, row_sums, out, row_stride } => {
            let size = epilogue.out_dtype.size_bytes();
            for (i, row) in acc.iter().enumerate().take(m) {
                let mut v = add_bias(row, epilogue, 0);
                if let (Some(t3), Some(sums)) = (epilogue.t3_zero_point, row_sums) {
                    sub_t3_row(&mut v, t3, 0, sums[i]);
                }
                let o = requantize(&v, epilogue, 0);
                // SAFETY: row i < m of the output tile is valid for n elements.
                unsafe { store(&o, n, epilogue.out_dtype, out.add(i * row_stride * size)) };
            }
        }
    }
}
