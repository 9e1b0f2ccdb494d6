//! The scalar arithmetic of the element-wise evaluator, written so that LLVM vectorizes it
//! on the baseline ISA, each function equal to the reference semantics (tests below).

use qnn_ir::{FixedPointMultiplier, FixedRounding};

/// `y.round_ties_even()` without a libm call: for `|y| < 2^23`, adding and subtracting
/// `2^23` (with `y`'s sign) rounds to an integer in the default rounding mode, ties to even
/// (the ulp of the sum is 1, and `2^23` is even); larger magnitudes, infinities and NaN are
/// already integral (or NaN) and pass through. `copysign` keeps the sign of a zero result
/// (`-0.3` → `-0.0`). Rust never reassociates float arithmetic, so this is exact.
#[inline(always)]
pub(crate) fn round_half_even(y: f32) -> f32 {
    const BIG: f32 = 8_388_608.0; // 2^23
    let m = BIG.copysign(y);
    let r = if y.abs() < BIG { (y + m) - m } else { y };
    r.copysign(y)
}

/// The reference `cast` of an f32 to an integer range containing 0: round half to even,
/// saturate, NaN → 0.
#[inline(always)]
pub(crate) fn f32_to_int(y: f32, lo: f32, hi: f32) -> i32 {
    let r = round_half_even(y);
    // `r != r` is NaN; `lo ≤ 0 ≤ hi`, so 0 is the reference's NaN result inside the range.
    #[allow(clippy::eq_op)]
    let c = if r != r { 0.0 } else { r.max(lo).min(hi) };
    // `as` saturates: `hi = 2^31` (f32 cannot hold i32::MAX) gives i32::MAX, as the
    // reference's `clamp(v as i64, range)` does.
    c as i32
}

/// A fixed-point multiplier as two exact integer stages (valid for `|x| ≤ 2^31`, so that
/// `|x · q| < 2^62` and no addition below overflows i64):
///
/// ```text
/// p = x · q
/// t = (p + round1 − [p < 0 ∧ nearest]) >> shift1          ties up, or away from 0
/// u = (t + round2 − [t < 0 ∧ round2 ≠ 0]) >> shift2        TFLite's rounding divide
/// ```
///
/// Upward/ToNearest: one rounding of `x · q / 2^(31 − shift)`. TFLite: its doubling high
/// multiply is `round_half_up(x · q / 2^(31 − max(shift, 0)))`, then the divide by
/// `2^max(−shift, 0)` rounds ties away from zero. Shifts of 63 or more give 0 (the quotient
/// is below 1/2 in magnitude), which `shift = 63, round = 2^62` also gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FixedStages {
    pub q: i64,
    pub shift1: u32,
    pub round1: i64,
    pub nearest: bool,
    pub shift2: u32,
    pub round2: i64,
}

fn half(s: u32) -> i64 {
    if s == 0 { 0 } else { 1 << (s - 1) }
}

impl FixedStages {
    pub(crate) fn new(m: FixedPointMultiplier, rounding: FixedRounding) -> FixedStages {
        let q = i64::from(m.multiplier);
        let single = |s: i64, nearest: bool| {
            let s = s.clamp(0, 63) as u32;
            FixedStages { q, shift1: s, round1: half(s), nearest, shift2: 0, round2: 0 }
        };
        match rounding {
            FixedRounding::Upward => single(31 - i64::from(m.shift), false),
            FixedRounding::ToNearest => single(31 - i64::from(m.shift), true),
            FixedRounding::Tflite if m.shift >= 0 => single(31 - i64::from(m.shift), false),
            FixedRounding::Tflite => {
                let e = (-i64::from(m.shift)).clamp(0, 63) as u32;
                FixedStages {
                    q,
                    shift1: 31,
                    round1: 1 << 30,
                    nearest: false,
                    shift2: e,
                    round2: half(e),
                }
            }
        }
    }

    /// `round(x · m)` for `|x| ≤ 2^31`.
    #[inline(always)]
    pub(crate) fn apply(&self, x: i64) -> i64 {
        let p = x * self.q;
        let t = (p + self.round1 - i64::from(self.nearest & (p < 0) & (self.round1 != 0)))
            >> self.shift1;
        (t + self.round2 - i64::from((t < 0) & (self.round2 != 0))) >> self.shift2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_matches_round_ties_even() {
        let mut vals = vec![
            0.0f32,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999997,
            8388607.5,
            -8388607.5,
            8388608.0,
            8388609.0,
            1e20,
            -1e20,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-45,
            -0.3,
            4194303.5,
            4194304.5,
        ];
        vals.extend((-4000..4000).map(|i| i as f32 * 0.25));
        for v in vals {
            let (a, b) = (round_half_even(v), v.round_ties_even());
            assert_eq!(a.to_bits(), b.to_bits(), "{v}: {a} vs {b}");
        }
        assert!(round_half_even(f32::NAN).is_nan());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn rounding_on_random_bits(bits in any::<u32>()) {
            let v = f32::from_bits(bits);
            let (a, b) = (round_half_even(v), v.round_ties_even());
            prop_assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{v}");
        }

        #[test]
        fn stages_equal_apply(
            x in prop_oneof![-(1i64 << 31)..=(1i64 << 31), -300i64..300,
                prop::sample::select(vec![i64::from(i32::MIN), i64::from(i32::MAX), 1 << 31, 0])],
            m in prop_oneof![1e-19f64..1e-9, 1e-9f64..1.0, 1.0f64..2e9,
                prop::sample::select(vec![0.5, 0.25, 1.0, 0.0, 2.0f64.powi(-62), 2.0f64.powi(30)])],
            r in prop::sample::select(vec![FixedRounding::Upward, FixedRounding::ToNearest, FixedRounding::Tflite]),
        ) {
            let fm = FixedPointMultiplier::from_real(m).unwrap();
            prop_assert_eq!(FixedStages::new(fm, r).apply(x), fm.apply(x, r), "x {} m {:?}", x, fm);
        }
    }

    #[test]
    fn f32_casts_like_the_reference() {
        let t = |v: f32, lo: f32, hi: f32| f32_to_int(v, lo, hi);
        assert_eq!(t(f32::NAN, 0.0, 255.0), 0);
        assert_eq!(t(f32::NAN, -128.0, 127.0), 0);
        assert_eq!(t(300.0, 0.0, 255.0), 255);
        assert_eq!(t(-0.5, 0.0, 255.0), 0);
        assert_eq!(t(2.5, 0.0, 255.0), 2);
        assert_eq!(t(1e20, i32::MIN as f32, i32::MAX as f32), i32::MAX);
        assert_eq!(t(-1e20, i32::MIN as f32, i32::MAX as f32), i32::MIN);
    }
}
