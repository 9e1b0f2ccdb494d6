//! Fixed-point requantization against exact rational arithmetic in `i128`.
//!
//! The oracle never looks at how `apply` computes: it takes the exact rational
//! `x · q / 2^(31 − shift)` and rounds it with Euclidean quotient and remainder
//! (`reference_common::round_div`). TFLite mode is stated as its two roundings:
//! `h = round_ties_up(x · 2^max(shift,0) · q / 2^31)`, then `round_ties_away(h / 2^max(−shift,0))`.

mod reference_common;

use proptest::prelude::*;
use qnn_ir::reference::eval_op;
use qnn_ir::{DType, FixedPointMultiplier, FixedRounding, Op, QuantParams, Rounding, Tensor};
use reference_common::{Tie, config, round_div};

/// The exact result of the fixed-point multiplication in `rounding`.
fn oracle(m: FixedPointMultiplier, x: i64, rounding: FixedRounding) -> i128 {
    let (q, shift, x) = (i128::from(m.multiplier), i64::from(m.shift), i128::from(x));
    let scaled_div = |n: i128, exp: i64, tie: Tie| -> i128 {
        // n / 2^exp (exp may be ≤ 0: then a product). |n| < 2^95 here, so for exp ≥ 100 the
        // quotient is below 1/2 in magnitude and rounds to 0 in every mode.
        if exp <= 0 {
            n * (1i128 << -exp)
        } else if exp >= 100 {
            0
        } else {
            round_div(n, 1i128 << exp, tie)
        }
    };
    match rounding {
        FixedRounding::Upward => scaled_div(x * q, 31 - shift, Tie::Up),
        FixedRounding::ToNearest => scaled_div(x * q, 31 - shift, Tie::AwayFromZero),
        FixedRounding::Tflite => {
            let left = shift.max(0);
            let high = round_div(x * (1i128 << left) * q, 1i128 << 31, Tie::Up);
            scaled_div(high, (-shift).max(0), Tie::AwayFromZero)
        }
    }
}

/// `m = mant · 2^e` exactly, for finite `m > 0`.
fn decompose(m: f64) -> (u64, i64) {
    let bits = m.to_bits();
    let (field, frac) = ((bits >> 52) as i64 & 0x7ff, bits & ((1 << 52) - 1));
    if field == 0 { (frac, -1074) } else { (frac | 1 << 52, field - 1075) }
}

/// Real multipliers: tiny, around 1, above 1, exact dyadic ties, and ratios of f32 scales.
fn multiplier() -> impl Strategy<Value = f64> {
    prop_oneof![
        // mantissa in [0.5, 1) times 2^e over the whole useful range
        (0.5f64..1.0, -80i32..=30).prop_map(|(f, e)| f * 2f64.powi(e)),
        // tiny
        // (two steps: powi of a large negative exponent underflows)
        (0.5f64..1.0, -1070i32..=-80).prop_map(|(f, e)| f * 2f64.powi(-500) * 2f64.powi(e + 500)),
        // near 1 (q may round up to 2^31)
        (-1e-9f64..1e-9).prop_map(|d| 1.0 + d),
        (0u32..64).prop_map(|k| 1.0 - f64::from(k) * 2f64.powi(-53)),
        // dyadic: ties are common
        (1u32..64, 0i32..12).prop_map(|(k, e)| f64::from(k) / 2f64.powi(e)),
        // s_in / s_out of f32 scales, as the importer makes them
        (1e-6f32..10.0, 1e-6f32..10.0)
            .prop_map(|(a, b)| f64::from(a) / f64::from(b))
            .prop_filter("below 2^31", |m| *m < 2f64.powi(31)),
    ]
}

/// Inputs: i32 extremes, differences of two i32 values (|x| < 2^32), small values.
fn input() -> impl Strategy<Value = i64> {
    let edges = vec![
        0,
        1,
        -1,
        i64::from(i32::MIN),
        i64::from(i32::MAX),
        i64::from(i32::MAX) - i64::from(i32::MIN),
        i64::from(i32::MIN) - i64::from(i32::MAX),
    ];
    prop_oneof![
        any::<i32>().prop_map(i64::from),
        -(1i64 << 32) + 1..(1i64 << 32),
        -1000i64..1000,
        prop::sample::select(edges),
    ]
}

fn rounding() -> impl Strategy<Value = FixedRounding> {
    prop::sample::select(vec![
        FixedRounding::Upward,
        FixedRounding::ToNearest,
        FixedRounding::Tflite,
    ])
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn apply_is_the_exact_rounding(m in multiplier(), x in input(), r in rounding()) {
        let fp = FixedPointMultiplier::from_real(m).unwrap();
        let expected = oracle(fp, x, r);
        prop_assert!(i128::from(i64::MIN) <= expected && expected <= i128::from(i64::MAX));
        prop_assert_eq!(i128::from(fp.apply(x, r)), expected, "m = {:e}, {:?}", m, fp);
    }

    /// Every shift, not only those `from_real` produces (a graph may carry any multiplier).
    #[test]
    fn apply_is_exact_for_every_shift(
        q in (1i32 << 30)..=i32::MAX,
        shift in -130i32..=31,
        x in input(),
        r in rounding(),
    ) {
        let fp = FixedPointMultiplier { multiplier: q, shift };
        prop_assert_eq!(i128::from(fp.apply(x, r)), oracle(fp, x, r), "{:?}", fp);
    }

    #[test]
    fn from_real_error_bound(m in multiplier()) {
        let fp = FixedPointMultiplier::from_real(m).unwrap();
        if m < 2f64.powi(-63) {
            // Flushed: |m| < 2^−63 is itself within the bound 2^(0−32) of the result 0.
            prop_assert_eq!(fp, FixedPointMultiplier { multiplier: 0, shift: 0 });
            return Ok(());
        }
        prop_assert!((1 << 30..=i32::MAX).contains(&fp.multiplier), "{:?}", fp);
        prop_assert!((qnn_ir::fixed_point::MIN_SHIFT..=31).contains(&fp.shift), "{:?}", fp);
        // Exactly, in integers: 2·|q·2^(shift−31) − m| ≤ 2^(shift−31), i.e. half a unit of q.
        let (mant, e2) = decompose(m);
        let e = e2.min(i64::from(fp.shift) - 31);
        let a = i128::from(fp.multiplier) << (i64::from(fp.shift) - 31 - e);
        let b = i128::from(mant) << (e2 - e);
        prop_assert!(2 * (a - b).abs() <= 1i128 << (i64::from(fp.shift) - 31 - e), "m = {:e}, {:?}", m, fp);
    }

    /// `qnn.requantize` in a fixed mode: `clamp(zp_out + round(M · (x − zp_in)))` with `M` from
    /// `s_in / s_out` in f64, checked element by element against the oracle.
    #[test]
    fn qnn_requantize_fixed(
        xs in prop::collection::vec(any::<i32>(), 1..16),
        s_in in 1e-6f32..1.0,
        s_out in 1e-4f32..1.0,
        zp_in in any::<i32>(),
        zp_out in -128i32..=127,
        r in rounding(),
    ) {
        let rounding = match r {
            FixedRounding::Upward => Rounding::Upward,
            FixedRounding::ToNearest => Rounding::ToNearest,
            FixedRounding::Tflite => Rounding::Tflite,
        };
        let op = Op::QnnRequantize {
            input: QuantParams::per_tensor(s_in, zp_in),
            output: QuantParams::per_tensor(s_out, zp_out),
            rounding,
            out_dtype: DType::I8,
        };
        let x = Tensor::from_vec(&[xs.len()], xs.clone()).unwrap();
        let y = eval_op(&op, &[&x]).unwrap();
        let fp = FixedPointMultiplier::from_real(f64::from(s_in) / f64::from(s_out)).unwrap();
        let expected: Vec<i8> = xs
            .iter()
            .map(|&v| {
                let exact = oracle(fp, i64::from(v) - i64::from(zp_in), r) + i128::from(zp_out);
                exact.clamp(-128, 127) as i8
            })
            .collect();
        prop_assert_eq!(y, Tensor::from_vec(&[xs.len()], expected).unwrap());
    }
}

#[test]
fn from_real_matches_tflite_quantize_multiplier_examples() {
    // Values TFLite's QuantizeMultiplier gives (frexp, round half away, 2^31 → halve).
    let cases = [
        (0.5, 1 << 30, 0),
        (0.25, 1 << 30, -1),
        (0.1, 1_717_986_918, -3),
        (0.003_921_568_627_450_98, 1_077_952_576, -7), // 1/255
        (3.0, 3 << 29, 2),
    ];
    for (m, q, shift) in cases {
        assert_eq!(
            FixedPointMultiplier::from_real(m).unwrap(),
            FixedPointMultiplier { multiplier: q, shift },
            "{m}"
        );
    }
}
