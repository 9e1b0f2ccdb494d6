//! Fixed-point multipliers (TFLite/TVM): a real multiplier `m ≥ 0` as `q · 2^(shift − 31)` with
//! `q` a Q31 integer in `[2^30, 2^31)`, and the three fixed-point roundings of `x · m`.
//!
//! Range argument for [`FixedPointMultiplier::apply`]: every product is formed in `i128`.
//! With `|x| ≤ 2^63` and `|q| ≤ 2^31`, `|x · q| ≤ 2^94`, far inside `i128`; left shifts are
//! checked. The exact rounded result fits `i64` whenever `|x| < 2^32` and `m < 2^31` (what
//! [`FixedPointMultiplier::from_real`] accepts), which covers every `x = v − zp` with `v`, `zp`
//! 32-bit: then `|x · m| < 2^63 − 2^31` and rounding adds at most 1.

use crate::error::IrError;
use crate::ops::{FixedPointMultiplier, FixedRounding};

/// Largest right shift worth performing: `|x · q| ≤ 2^94`, so dividing by `2^d` with `d > 96`
/// leaves a magnitude below `1/4`, which every rounding mode sends to 0.
const MAX_RIGHT_SHIFT: u32 = 96;

/// Smallest shift [`FixedPointMultiplier::from_real`] produces (the core `requantize` accepts
/// shifts in `[−62, 62]`); smaller multipliers are flushed to 0.
pub const MIN_SHIFT: i32 = -62;

impl FixedPointMultiplier {
    /// `m = q · 2^(shift − 31)` with `q = round(frac · 2^31)` (ties away from zero), where
    /// `m = frac · 2^shift`, `frac ∈ [0.5, 1)`. When `q` rounds up to `2^31` it is halved and
    /// `shift` incremented, so `q ∈ [2^30, 2^31)`. `m == 0` gives `(0, 0)`.
    ///
    /// The representation error is at most half a unit of `q`: `|q · 2^(shift−31) − m| ≤
    /// 2^(shift−32)`. Multipliers below `2^−63` (shift < −62, the smallest shift the core
    /// `requantize` accepts) become `(0, 0)`: for every `|x| < 2^32` then `|x · m| < 2^−31`,
    /// which rounds to 0 in every mode, so the flush is exact under the range argument (TFLite's
    /// `QuantizeMultiplier` flushes below shift −31, equally exact for its `i32` inputs).
    /// Non-finite or negative multipliers and `m ≥ 2^31` (the bound of the range argument of
    /// [`apply`](Self::apply)) are errors.
    pub fn from_real(m: f64) -> Result<Self, IrError> {
        Self::from_real_in("fixed-point multiplier", m)
    }

    /// [`from_real`](Self::from_real) with `op` naming the operator in the error.
    pub(crate) fn from_real_in(op: &str, m: f64) -> Result<Self, IrError> {
        let bad = |msg: &str| IrError::Attribute {
            op: op.into(),
            attr: "multiplier".into(),
            value: format!("{m:e}"),
            msg: msg.into(),
        };
        if !m.is_finite() || m < 0.0 {
            return Err(bad("a fixed-point multiplier must be finite and ≥ 0"));
        }
        if m == 0.0 {
            return Ok(FixedPointMultiplier { multiplier: 0, shift: 0 });
        }
        let (frac, exp) = frexp(m);
        // frac · 2^31 is exact (53-bit mantissa, power-of-two scaling), so this rounds once.
        let mut q = (frac * 2f64.powi(31)).round() as i64;
        let mut shift = exp;
        if q == 1 << 31 {
            q /= 2;
            shift += 1;
        }
        if shift > 31 {
            return Err(bad("a fixed-point multiplier must be < 2^31"));
        }
        if shift < MIN_SHIFT {
            return Ok(FixedPointMultiplier { multiplier: 0, shift: 0 });
        }
        debug_assert!(((1 << 30)..(1 << 31)).contains(&q));
        Ok(FixedPointMultiplier { multiplier: q as i32, shift })
    }

    /// The multiplier as a real number, `q · 2^(shift − 31)` (exact in `f64` unless it lies in
    /// the subnormal range, then rounded once).
    pub fn to_real(self) -> f64 {
        // Scale in steps that keep the intermediate normal, so only the last one can round.
        let mut v = f64::from(self.multiplier);
        let mut e = i64::from(self.shift) - 31;
        while e < -1022 {
            v *= 2f64.powi(-1022);
            e += 1022;
        }
        while e > 1023 {
            v *= 2f64.powi(1023);
            e -= 1023;
        }
        v * 2f64.powi(e as i32)
    }

    /// `round(x · q · 2^(shift − 31))` in the given rounding:
    ///
    /// * `Upward`: one rounding of the exact product, ties toward +∞ (TVM `UPWARD`);
    /// * `ToNearest`: one rounding, ties away from zero (TVM `TONEAREST`);
    /// * `Tflite`: TFLite's `MultiplyByQuantizedMultiplier`: `x` shifted left by `max(shift, 0)`,
    ///   `SaturatingRoundingDoublingHighMul` with `q` (ties toward +∞), then
    ///   `RoundingDivideByPOT` by `max(−shift, 0)` (ties away from zero) — two roundings when
    ///   `shift < 0`. Bit-exact with TFLite whenever `x · 2^max(shift,0)` fits `i32` (where
    ///   TFLite's own int32 arithmetic is defined); beyond that the same formula is
    ///   evaluated in wider integers instead of wrapping.
    ///
    /// Exact under the range argument of the module doc; a result beyond `i64` (only possible
    /// outside it) saturates to `i64`, which cannot change a result later clamped to a 32-bit
    /// or narrower type.
    pub fn apply(self, x: i64, rounding: FixedRounding) -> i64 {
        let q = i128::from(self.multiplier);
        let x = i128::from(x);
        let exact = match rounding {
            FixedRounding::Upward | FixedRounding::ToNearest => {
                let product = x * q;
                // x · q · 2^(shift − 31): a right shift by 31 − shift, or a left shift.
                let right = 31 - i64::from(self.shift);
                if right <= 0 {
                    shl_saturating(product, right.unsigned_abs())
                } else {
                    let ties_up = rounding == FixedRounding::Upward;
                    round_shr(product, right.unsigned_abs(), ties_up)
                }
            }
            FixedRounding::Tflite => {
                let left = self.shift.max(0).unsigned_abs();
                let right = (-i64::from(self.shift)).max(0).unsigned_abs();
                let shifted = shl_saturating(x, u64::from(left));
                let high = rounding_doubling_high_mul(shifted, q);
                rounding_divide_by_pot(high, right)
            }
        };
        exact.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// `m = frac · 2^exp` with `frac ∈ [0.5, 1)`, for finite `m > 0` (C's `frexp`).
fn frexp(m: f64) -> (f64, i32) {
    let bits = m.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first (exact).
        let (frac, exp) = frexp(m * 2f64.powi(64));
        return (frac, exp - 64);
    }
    // Replace the exponent by the one of [0.5, 1) (biased 1022).
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, biased - 1022)
}

/// `v · 2^k`, saturating at the `i128` range (`|v| ≤ 2^94` in every use, so saturation means
/// a result far beyond `i64`, which `apply` saturates anyway).
fn shl_saturating(v: i128, k: u64) -> i128 {
    if v == 0 {
        return 0;
    }
    let saturated = if v > 0 { i128::MAX } else { i128::MIN };
    if k >= 127 {
        return saturated;
    }
    v.checked_mul(1i128 << k).unwrap_or(saturated)
}

/// `v / 2^k` rounded to nearest, ties toward +∞ (`ties_up`) or away from zero.
fn round_shr(v: i128, k: u64, ties_up: bool) -> i128 {
    if k > u64::from(MAX_RIGHT_SHIFT) {
        return 0;
    }
    let floor = v >> k; // arithmetic shift: floor division
    let rem = v - (floor << k); // in [0, 2^k)
    let half = 1i128 << (k - 1);
    let round_up = rem > half || (rem == half && (ties_up || v > 0));
    floor + i128::from(round_up)
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul(a, b)`: `(a·b + nudge) / 2^31` with C's
/// truncating division, `nudge = 2^30` for `a·b ≥ 0` and `1 − 2^30` otherwise — a rounding of
/// `a·b / 2^31` with ties toward +∞. Its saturating case (`a = b = i32::MIN`) cannot occur for
/// `b = q ≥ 0`.
fn rounding_doubling_high_mul(a: i128, b: i128) -> i128 {
    let ab = a.saturating_mul(b);
    let nudge: i128 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ab.saturating_add(nudge) / (1 << 31)
}

/// gemmlowp's `RoundingDivideByPOT(x, e)`: `x >> e`, plus 1 when the remainder `x & (2^e − 1)`
/// exceeds `(2^e − 1) >> 1`, or that plus 1 for negative `x` — ties away from zero.
fn rounding_divide_by_pot(x: i128, e: u64) -> i128 {
    if e > u64::from(MAX_RIGHT_SHIFT) {
        return 0;
    }
    let mask = (1i128 << e) - 1;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i128::from(x < 0);
    (x >> e) + i128::from(remainder > threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use FixedRounding::*;

    fn fp(multiplier: i32, shift: i32) -> FixedPointMultiplier {
        FixedPointMultiplier { multiplier, shift }
    }

    #[test]
    fn from_real_examples() {
        assert_eq!(FixedPointMultiplier::from_real(0.0).unwrap(), fp(0, 0));
        assert_eq!(FixedPointMultiplier::from_real(1.0).unwrap(), fp(1 << 30, 1));
        assert_eq!(FixedPointMultiplier::from_real(0.5).unwrap(), fp(1 << 30, 0));
        assert_eq!(FixedPointMultiplier::from_real(0.75).unwrap(), fp(3 << 29, 0));
        // 1 − 2^-40 rounds q up to 2^31: halved, shift + 1.
        assert_eq!(FixedPointMultiplier::from_real(1.0 - 2f64.powi(-40)).unwrap(), fp(1 << 30, 1));
        assert_eq!(FixedPointMultiplier::from_real(2f64.powi(-63)).unwrap(), fp(1 << 30, -62));
        let tiny = 2f64.powi(-63) * (1.0 - 2f64.powi(-40));
        assert_eq!(FixedPointMultiplier::from_real(tiny).unwrap(), fp(1 << 30, -62));
        assert_eq!(FixedPointMultiplier::from_real(2f64.powi(-64)).unwrap(), fp(0, 0));
        assert_eq!(FixedPointMultiplier::from_real(f64::MIN_POSITIVE / 4.0).unwrap(), fp(0, 0));
        let deep = fp(1 << 30, -1073);
        assert_eq!(deep.to_real(), f64::from_bits(1)); // 2^−1074, the smallest subnormal
        assert_eq!(FixedPointMultiplier::from_real(2f64.powi(30)).unwrap(), fp(1 << 30, 31));
    }

    #[test]
    fn from_real_rejects() {
        for m in [f64::NAN, f64::INFINITY, -1.0, -0.5e-10, 2f64.powi(31), 1e300] {
            let e = FixedPointMultiplier::from_real(m).unwrap_err();
            assert!(
                matches!(e, IrError::Attribute { ref attr, .. } if attr == "multiplier"),
                "{m}"
            );
        }
        // Just below 2^31 rounds to q = 2^31 at shift 31, i.e. 2^31: rejected.
        assert!(FixedPointMultiplier::from_real(2f64.powi(31) * (1.0 - 2f64.powi(-40))).is_err());
        let msg = FixedPointMultiplier::from_real(-1.0).unwrap_err().to_string();
        assert!(msg.contains("-1e0") && msg.contains("multiplier"), "{msg}");
    }

    #[test]
    fn apply_ties() {
        let half = fp(1 << 30, 0); // 0.5
        assert_eq!([3, -3, 5, -5].map(|x| half.apply(x, Upward)), [2, -1, 3, -2]);
        assert_eq!([3, -3, 5, -5].map(|x| half.apply(x, ToNearest)), [2, -2, 3, -3]);
        // With shift 0 TFLite rounds once, in its high multiply: ties toward +∞.
        assert_eq!([3, -3, 5, -5].map(|x| half.apply(x, Tflite)), [2, -1, 3, -2]);
        let one = FixedPointMultiplier::from_real(1.0).unwrap();
        for x in [i64::from(i32::MIN), -7, 0, 7, i64::from(i32::MAX), 1 << 40] {
            assert_eq!(one.apply(x, Upward), x);
            assert_eq!(one.apply(x, ToNearest), x);
            assert_eq!(one.apply(x, Tflite), x);
        }
        assert_eq!(fp(0, 0).apply(i64::MAX, ToNearest), 0);
    }

    #[test]
    fn tflite_double_rounding_differs() {
        // With shift −1, the high multiply rounds 4 · 0.625 = 2.5 up to 3 and the division
        // by 2 rounds 1.5 again to 2, where the exact 4 · 0.3125 = 1.25 rounds to 1.
        let m = fp(5 << 28, 0); // 0.625
        assert_eq!(m.to_real(), 0.625);
        let m_half = fp(5 << 28, -1); // 0.3125
        let x = 4; // exact 1.25; high mul: 4 · 0.625 = 2.5 → 3; 3 / 2 = 1.5 → 2
        assert_eq!(m.apply(x, Tflite), 3);
        assert_eq!(m_half.apply(x, ToNearest), 1);
        assert_eq!(m_half.apply(x, Tflite), 2);
    }

    #[test]
    fn apply_extremes_do_not_panic() {
        for rounding in [Upward, ToNearest, Tflite] {
            for m in [fp(i32::MAX, 31), fp(i32::MAX, 200), fp(i32::MIN, 31), fp(1 << 30, -3000)] {
                for x in [i64::MIN, -1, 0, 1, i64::MAX] {
                    let _ = m.apply(x, rounding);
                }
            }
        }
        assert_eq!(fp(i32::MAX, 200).apply(1, Upward), i64::MAX);
        assert_eq!(fp(i32::MAX, 200).apply(-1, Tflite), i64::MIN);
        assert_eq!(fp(1 << 30, -3000).apply(i64::MAX, Tflite), 0);
    }
}
