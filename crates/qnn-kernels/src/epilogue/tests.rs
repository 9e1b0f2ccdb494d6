use proptest::prelude::*;
use qnn_ir::{DType, FixedPointMultiplier, FixedRounding, RequantScale};

use super::lanes::{add_bias, requantize};
use super::{EpilogueSpec, PreparedEpilogue};

fn spec(requant: Option<RequantScale>, out_dtype: DType, zero_point: i32) -> EpilogueSpec {
    EpilogueSpec {
        bias: vec![0],
        t3_zero_point: None,
        requant,
        input_zero_point: 0,
        out_dtype,
        zero_point,
        clamp: None,
    }
}

/// One lane of the prepared epilogue on `v`.
fn one(e: &PreparedEpilogue, v: i32) -> i32 {
    let view = e.view(0);
    requantize(&add_bias(&[v], &view, 0), &view, 0)[0]
}

fn rounding() -> impl Strategy<Value = FixedRounding> {
    prop_oneof![
        Just(FixedRounding::Upward),
        Just(FixedRounding::ToNearest),
        Just(FixedRounding::Tflite)
    ]
}

fn multiplier() -> impl Strategy<Value = FixedPointMultiplier> {
    prop_oneof![
        Just(FixedPointMultiplier { multiplier: 0, shift: 0 }),
        ((1i32 << 30)..=i32::MAX, -62i32..=31)
            .prop_map(|(multiplier, shift)| FixedPointMultiplier { multiplier, shift }),
        ((1i32 << 30)..=i32::MAX, -3i32..=1)
            .prop_map(|(multiplier, shift)| FixedPointMultiplier { multiplier, shift }),
    ]
}

fn value() -> impl Strategy<Value = i32> {
    prop_oneof![any::<i32>(), -70_000i32..70_000, Just(i32::MIN), Just(i32::MAX)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("QNN_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4096)
    ))]

    /// The two-stage shifts equal `FixedPointMultiplier::apply` of the reference, every mode,
    /// every shift, every 32-bit value, any output type.
    #[test]
    fn fixed_stages_equal_the_reference(
        m in multiplier(),
        r in rounding(),
        v in value(),
        (out, zp) in prop_oneof![
            (Just(DType::U8), 0i32..=255),
            (Just(DType::I8), -128i32..=127),
            (Just(DType::I32), -1000i32..=1000),
        ],
    ) {
        let s = spec(Some(RequantScale::Fixed { mults: vec![m], rounding: r }), out, zp);
        let e = PreparedEpilogue::new(&s, 1, 0).unwrap();
        let (lo, hi) = out.int_range().unwrap();
        let expected = (i64::from(zp) + m.apply(i64::from(v), r)).clamp(lo, hi);
        prop_assert_eq!(i64::from(one(&e, v)), expected);
    }

    /// ONNX Runtime's f32 rule: round half to even of the f32 product, plus the zero point.
    #[test]
    fn float_mode_is_f32_round_half_even(
        m in prop_oneof![0.0f32..4.0, Just(0.5f32), Just(0.25f32)],
        v in value(),
        (out, zp) in prop_oneof![(Just(DType::U8), 0i32..=255), (Just(DType::I8), -128i32..=127)],
    ) {
        let s = spec(Some(RequantScale::Float { mults: vec![m] }), out, zp);
        let e = PreparedEpilogue::new(&s, 1, 0).unwrap();
        let (lo, hi) = out.int_range().unwrap();
        let y = ((v as f32 * m).round_ties_even() + zp as f32).clamp(lo as f32, hi as f32);
        prop_assert_eq!(one(&e, v), y as i32);
    }
}

#[test]
fn ties_round_as_each_mode_says() {
    let half = FixedPointMultiplier { multiplier: 1 << 30, shift: 0 }; // 0.5
    let run = |r, v| {
        let s = spec(Some(RequantScale::Fixed { mults: vec![half], rounding: r }), DType::I8, 0);
        one(&PreparedEpilogue::new(&s, 1, 0).unwrap(), v)
    };
    assert_eq!([3, -3, 5, -5].map(|v| run(FixedRounding::Upward, v)), [2, -1, 3, -2]);
    assert_eq!([3, -3, 5, -5].map(|v| run(FixedRounding::ToNearest, v)), [2, -2, 3, -3]);
    let f = spec(Some(RequantScale::Float { mults: vec![0.5] }), DType::I8, 0);
    let f = PreparedEpilogue::new(&f, 1, 0).unwrap();
    assert_eq!([3, -3, 5, -5].map(|v| one(&f, v)), [2, -2, 2, -2]);
}

#[test]
fn bad_specs_are_errors_naming_the_value() {
    let mut s = spec(None, DType::U8, 0);
    assert!(
        PreparedEpilogue::new(&s, 4, 0).unwrap_err().to_string().contains("without requantize")
    );
    s = spec(Some(RequantScale::Float { mults: vec![f32::NAN] }), DType::U8, 0);
    assert!(PreparedEpilogue::new(&s, 4, 0).unwrap_err().to_string().contains("NaN"));
    s = spec(Some(RequantScale::Float { mults: vec![1.0; 3] }), DType::U8, 0);
    assert!(PreparedEpilogue::new(&s, 4, 0).unwrap_err().to_string().contains("3 entries"));
    s = spec(Some(RequantScale::Float { mults: vec![1.0] }), DType::U8, 300);
    assert!(PreparedEpilogue::new(&s, 4, 0).unwrap_err().to_string().contains("300"));
    s = spec(Some(RequantScale::Float { mults: vec![1.0] }), DType::U8, 0);
    s.clamp = Some((10, 300));
    assert!(PreparedEpilogue::new(&s, 4, 0).unwrap_err().to_string().contains("[10, 300]"));
    let big = FixedPointMultiplier { multiplier: 1 << 30, shift: 40 };
    s = spec(
        Some(RequantScale::Fixed { mults: vec![big], rounding: FixedRounding::Upward }),
        DType::U8,
        0,
    );
    assert!(PreparedEpilogue::new(&s, 4, 0).unwrap_err().to_string().contains("2^(40"));
}

#[test]
fn block_lane_order_permutes_channels() {
    let mut s = spec(None, DType::I32, 0);
    s.bias = (0..5).collect();
    // block 4, kr 2: slot j·2 + i holds channel 2i + j.
    let e = PreparedEpilogue::new_block_lanes(&s, 5, 4, 2).unwrap();
    assert_eq!(e.len(), 8);
    assert_eq!(&e.view(0).bias[..8], &[0, 2, 1, 3, 4, 0, 0, 0]);
}

/// The magic-constant rounding of the f32 path at the edges of its exact range (|y| near
/// 2^22 and 2^23) and at ties, for every zero point and both output types.
#[test]
fn float_rounding_at_the_edges_of_the_magic_range() {
    for (out, zps) in [(DType::U8, [0, 128, 255]), (DType::I8, [-128, 0, 127])] {
        for zp in zps {
            for m in [1.0f32, 0.5, 0.25, 2.0, 1.5] {
                let s = spec(Some(RequantScale::Float { mults: vec![m] }), out, zp);
                let e = PreparedEpilogue::new(&s, 1, 0).unwrap();
                let (lo, hi) = out.int_range().unwrap();
                for base in [0i32, 1 << 21, 1 << 22, 1 << 23, 1 << 24, 255, 128] {
                    for d in -3..=3 {
                        for sign in [1, -1] {
                            let v = sign * (base + d);
                            let y = ((v as f32 * m).round_ties_even() + zp as f32)
                                .clamp(lo as f32, hi as f32);
                            assert_eq!(one(&e, v), y as i32, "v {v} m {m} zp {zp} {out}");
                        }
                    }
                }
            }
        }
    }
}
