//! TFLite's integer arithmetic as qnn-ir ops: multipliers derived from float scales as
//! `QuantizeMultiplier` derives them, requantization in the rounding of the kernel being
//! reproduced, activation ranges as `CalculateActivationRangeQuantized` computes them.

use qnn_ir::{DType, FixedPointMultiplier, FixedRounding, Op, RequantScale, ValueId};

use super::context::{Ctx, OpRef};
use crate::error::TfliteError;
use crate::generated as fb;

/// TFLite's `QuantizeMultiplier(real)`: `frexp`, `q = round(frac · 2^31)` (ties away from
/// zero), `q == 2^31` halved with the shift incremented, shifts below −31 flushed to 0.
/// qnn-ir's `from_real` is the same derivation (it flushes only below −62; for TFLite's i32
/// accumulators both give 0 there, the flush here keeps the multipliers TFLite's own).
pub(crate) fn multiplier(
    o: &OpRef<'_>,
    what: &str,
    real: f64,
) -> Result<FixedPointMultiplier, TfliteError> {
    let m = FixedPointMultiplier::from_real(real)
        .map_err(|e| o.error(format!("{what} multiplier {real:e}: {e}")))?;
    if m.shift < -31 {
        return Ok(FixedPointMultiplier { multiplier: 0, shift: 0 });
    }
    Ok(m)
}

/// TFLite's `QuantizeMultiplierSmallerThanOneExp`: a multiplier `< 1` (shift ≤ 0), which the
/// kernels that use it (ADD) shift only right.
pub(crate) fn multiplier_below_one(
    o: &OpRef<'_>,
    what: &str,
    real: f64,
) -> Result<FixedPointMultiplier, TfliteError> {
    let m = multiplier(o, what, real)?;
    if m.shift > 0 {
        return Err(o.unsupported(format!(
            "{what} multiplier {real:e} is ≥ 1 (TFLite requires it below 1 here)"
        )));
    }
    Ok(m)
}

/// `clamp(zp_out + round(M · (x − zp_in)))` per element of `axes`, as TFLite's kernels do it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn requantize(
    cx: &mut Ctx<'_>,
    o: &OpRef<'_>,
    stem: &str,
    x: ValueId,
    mults: Vec<FixedPointMultiplier>,
    rounding: FixedRounding,
    axes: Vec<usize>,
    zero_points: (i32, i32),
    out_dtype: DType,
) -> Result<ValueId, TfliteError> {
    let op = Op::Requantize {
        scale: RequantScale::Fixed { mults, rounding },
        axes,
        input_zero_point: zero_points.0,
        output_zero_point: zero_points.1,
        out_dtype,
    };
    cx.emit(o, stem, op, &[x])
}

/// TFLite's `Quantize(scale, zero_point, f)` of a bound: `zp + round(f / scale)`, the quotient
/// in f32 and rounded half away from zero (`TfLiteRound`).
fn quantize_bound(scale: f32, zp: i32, f: f32) -> i64 {
    i64::from(zp) + (f / scale).round() as i64
}

/// The clamp bounds of a fused activation on an output with these parameters.
pub(crate) fn activation_range(
    o: &OpRef<'_>,
    act: fb::ActivationFunctionType,
    (scale, zp): (f32, i32),
    dtype: DType,
) -> Result<(i64, i64), TfliteError> {
    use fb::ActivationFunctionType as A;
    let (qmin, qmax) = dtype
        .int_range()
        .ok_or_else(|| o.unsupported(format!("fused activation on {dtype} output")))?;
    let q = |f: f32| quantize_bound(scale, zp, f);
    Ok(match act {
        A::NONE => (qmin, qmax),
        A::RELU => (qmin.max(q(0.0)), qmax),
        A::RELU6 => (qmin.max(q(0.0)), qmax.min(q(6.0))),
        A::RELU_N1_TO_1 => (qmin.max(q(-1.0)), qmax.min(q(1.0))),
        other => {
            return Err(o.unsupported(format!(
                "fused activation {}",
                other.variant_name().unwrap_or("unknown")
            )));
        }
    })
}

/// True when `range` is narrower than `dtype`'s: a `clip` follows.
pub(crate) fn needs_clamp(range: (i64, i64), dtype: DType) -> bool {
    dtype.int_range() != Some(range)
}

/// The stem of the node before an activation's clamp: the output tensor's name when no clamp
/// follows (each operator's last node carries its output tensor's name).
pub(crate) fn stem_before_clamp(
    output: &str,
    part: &str,
    range: (i64, i64),
    dtype: DType,
) -> String {
    if needs_clamp(range, dtype) { format!("{output}/{part}") } else { output.to_string() }
}

/// A core `clip` to `range` where it is narrower than `dtype`'s range (else `x` itself).
pub(crate) fn clamp(
    cx: &mut Ctx<'_>,
    o: &OpRef<'_>,
    stem: &str,
    x: ValueId,
    (lo, hi): (i64, i64),
    dtype: DType,
) -> Result<ValueId, TfliteError> {
    if lo > hi {
        return Err(o.error(format!("empty activation range [{lo}, {hi}]")));
    }
    if !needs_clamp((lo, hi), dtype) {
        return Ok(x);
    }
    cx.emit(o, stem, Op::Clip { min: lo as f64, max: hi as f64 }, &[x])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_round_half_away_in_f32() {
        assert_eq!(quantize_bound(0.5, -128, 0.0), -128);
        assert_eq!(quantize_bound(0.5, 0, 1.25), 3); // 2.5 → 3, away from zero
        assert_eq!(quantize_bound(0.5, 0, -1.25), -3);
        assert_eq!(quantize_bound(0.5, 7, 0.75), 9); // 1.5 → 2
        assert_eq!(quantize_bound(0.0235, 3, 6.0), 3 + (6.0f32 / 0.0235f32).round() as i64);
    }
}
