//! Float (ONNX Runtime) mode against direct transcriptions of what ORT computes: `qref.py` (the
//! numpy statement of ORT's QLinearConv/QLinearMatMul requantization and QuantizeLinear) and
//! MLAS's x86 kernels for QLinearAdd and QLinearGlobalAveragePool (where `qref.py`'s plain
//! float formulas differ from ORT on ties), and exact ties against integer arithmetic.

mod reference_common;

use proptest::prelude::*;
use qnn_ir::reference::eval_op;
use qnn_ir::{DType, DataLayout, Op, QuantParams, RequantScale, Rounding, Tensor, infer_type};
use reference_common::{Tie, config, round_div};

/// `qref.requant`: `mult = f32(f32(x_scale · w_scale) / y_scale)`,
/// `clip(rint(f32(acc) · mult) + f32(y_zp), qmin, qmax)`.
fn qref_requant(acc: i32, x_scale: f32, w_scale: f32, y_scale: f32, y_zp: i32, out: DType) -> i64 {
    let (qmin, qmax) = out.int_range().unwrap();
    let mult = (x_scale * w_scale) / y_scale;
    let v = (acc as f32 * mult).round_ties_even();
    (v + y_zp as f32).clamp(qmin as f32, qmax as f32) as i64
}

/// `qref.quantize`: `clip(rint(f32(x) / scale) + zp)`.
fn qref_quantize(x: f32, scale: f32, zp: i32, out: DType) -> i64 {
    let (qmin, qmax) = out.int_range().unwrap();
    ((x / scale).round_ties_even() + zp as f32).clamp(qmin as f32, qmax as f32) as i64
}

/// ORT's x86 QLinearAdd (MLAS `qladd_avx2.cpp`): zero points folded into one f32 constant,
/// raw operands combined with FMAs.
#[allow(clippy::too_many_arguments)]
fn mlas_add(
    a: i64,
    a_s: f32,
    a_zp: i32,
    b: i64,
    b_s: f32,
    b_zp: i32,
    c_s: f32,
    c_zp: i32,
    out: DType,
) -> i64 {
    let (qmin, qmax) = out.int_range().unwrap();
    let (ra, rb) = (a_s / c_s, b_s / c_s);
    let fixed = c_zp as f32 - ra.mul_add(a_zp as f32, rb * b_zp as f32);
    let v = (a as f32).mul_add(ra, (b as f32).mul_add(rb, fixed));
    v.round_ties_even().clamp(qmin as f32, qmax as f32) as i64
}

fn out_dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(vec![DType::U8, DType::I8])
}

fn scale() -> impl Strategy<Value = f32> {
    prop_oneof![1e-4f32..1.0, (-12i32..4).prop_map(|e| 2f32.powi(e)), 1e-3f32..0.1]
}

fn accumulator() -> impl Strategy<Value = i32> {
    prop_oneof![-100_000i32..100_000, any::<i32>(), -300i32..300]
}

fn zp(dtype: DType) -> impl Strategy<Value = i32> {
    let (lo, hi) = dtype.int_range().unwrap();
    prop_oneof![(lo as i32)..=(hi as i32), prop::sample::select(vec![lo as i32, hi as i32, 0])]
}

fn ints(t: &Tensor) -> Vec<i64> {
    t.to_i64().unwrap().iter().copied().collect()
}

proptest! {
    #![proptest_config(config(1024))]

    /// `qnn.conv2d`'s output scale `f32(s_x · s_w[k])` into `qnn.requantize` (float) equals
    /// ORT's QLinearConv requantization, per channel.
    #[test]
    fn requantize_float_is_qref(
        acc in prop::collection::vec(accumulator(), 6),
        x_scale in scale(),
        w_scale in prop::collection::vec(scale(), 3),
        y_scale in scale(),
        (od, y_zp) in out_dtype().prop_flat_map(|d| (Just(d), zp(d))),
    ) {
        let in_scales: Vec<f32> = w_scale.iter().map(|w| x_scale * w).collect();
        let op = Op::QnnRequantize {
            input: QuantParams::per_axis(in_scales, vec![0], 1),
            output: QuantParams::per_tensor(y_scale, y_zp),
            rounding: Rounding::Float,
            out_dtype: od,
        };
        let x = Tensor::from_vec(&[2, 3], acc.clone()).unwrap();
        let y = eval_op(&op, &[&x]).unwrap();
        let expected: Vec<i64> =
            acc.iter().enumerate().map(|(i, &a)| qref_requant(a, x_scale, w_scale[i % 3], y_scale, y_zp, od)).collect();
        prop_assert_eq!(ints(&y), expected);
    }

    /// The core `requantize` in float mode with the same multipliers gives the same bits.
    #[test]
    fn core_requantize_float_is_qref(
        acc in prop::collection::vec(accumulator(), 6),
        x_scale in scale(),
        w_scale in prop::collection::vec(scale(), 3),
        y_scale in scale(),
        (od, y_zp) in out_dtype().prop_flat_map(|d| (Just(d), zp(d))),
    ) {
        let mults: Vec<f32> = w_scale.iter().map(|w| (x_scale * w) / y_scale).collect();
        let op = Op::Requantize {
            scale: RequantScale::Float { mults },
            axes: vec![1],
            input_zero_point: 0,
            output_zero_point: y_zp,
            out_dtype: od,
        };
        let x = Tensor::from_vec(&[2, 3], acc.clone()).unwrap();
        let y = eval_op(&op, &[&x]).unwrap();
        let expected: Vec<i64> =
            acc.iter().enumerate().map(|(i, &a)| qref_requant(a, x_scale, w_scale[i % 3], y_scale, y_zp, od)).collect();
        prop_assert_eq!(ints(&y), expected);
    }

    /// Exact ties: power-of-two scales with multiplier 0.5 or 0.25 round half to even, checked
    /// in integers (`acc` below 2^24, so f32(acc) is exact).
    #[test]
    fn ties_round_half_to_even(
        acc in prop::collection::vec(-(1i32 << 24)..(1 << 24), 8),
        e in -10i32..10,
        k in 1i32..=2,
        y_zp in -128i32..=127,
    ) {
        let (x_scale, y_scale) = (2f32.powi(e), 2f32.powi(e + k));
        let op = Op::QnnRequantize {
            input: QuantParams::per_tensor(x_scale, 0),
            output: QuantParams::per_tensor(y_scale, y_zp),
            rounding: Rounding::Float,
            out_dtype: DType::I8,
        };
        let x = Tensor::from_vec(&[8], acc.clone()).unwrap();
        let y = eval_op(&op, &[&x]).unwrap();
        let expected: Vec<i64> = acc
            .iter()
            .map(|&a| (round_div(i128::from(a), 1 << k, Tie::Even) + i128::from(y_zp)).clamp(-128, 127) as i64)
            .collect();
        prop_assert_eq!(ints(&y), expected);
    }

    #[test]
    fn quantize_is_qref(
        xs in prop::collection::vec(prop_oneof![-300f32..300.0, (-600i32..600).prop_map(|k| k as f32 * 0.5)], 8),
        s in scale(),
        (od, z) in out_dtype().prop_flat_map(|d| (Just(d), zp(d))),
    ) {
        let op = Op::QnnQuantize { output: QuantParams::per_tensor(s, z), out_dtype: od };
        let x = Tensor::from_vec(&[8], xs.clone()).unwrap();
        let y = eval_op(&op, &[&x]).unwrap();
        let expected: Vec<i64> = xs.iter().map(|&v| qref_quantize(v, s, z, od)).collect();
        prop_assert_eq!(ints(&y), expected);
    }

    #[test]
    fn qnn_add_float_is_mlas(
        a in prop::collection::vec(0i64..=255, 4),
        b in prop::collection::vec(0i64..=255, 4),
        (a_s, b_s, c_s) in (scale(), scale(), scale()),
        (a_zp, b_zp) in (zp(DType::U8), zp(DType::U8)),
        (od, c_zp) in out_dtype().prop_flat_map(|d| (Just(d), zp(d))),
    ) {
        let op = Op::QnnAdd {
            lhs: QuantParams::per_tensor(a_s, a_zp),
            rhs: QuantParams::per_tensor(b_s, b_zp),
            output: QuantParams::per_tensor(c_s, c_zp),
            rounding: Rounding::Float,
            out_dtype: od,
        };
        let to_u8 = |v: &[i64]| Tensor::from_vec(&[4], v.iter().map(|&x| x as u8).collect()).unwrap();
        let y = eval_op(&op, &[&to_u8(&a), &to_u8(&b)]).unwrap();
        let expected: Vec<i64> =
            (0..4).map(|i| mlas_add(a[i], a_s, a_zp, b[i], b_s, b_zp, c_s, c_zp, od)).collect();
        prop_assert_eq!(ints(&y), expected);
    }

    /// ORT's x86 QLinearMul: exact product, `m = f32(f32(s_a·s_b) / s_c)`, the zero point added
    /// in f32 before rounding.
    #[test]
    fn qnn_mul_float_is_ort(
        a in prop::collection::vec(-128i64..=127, 4),
        b in prop::collection::vec(-128i64..=127, 4),
        (a_s, b_s, c_s) in (scale(), scale(), scale()),
        (a_zp, b_zp) in (zp(DType::I8), zp(DType::I8)),
        (od, c_zp) in out_dtype().prop_flat_map(|d| (Just(d), zp(d))),
    ) {
        let op = Op::QnnMul {
            lhs: QuantParams::per_tensor(a_s, a_zp),
            rhs: QuantParams::per_tensor(b_s, b_zp),
            output: QuantParams::per_tensor(c_s, c_zp),
            rounding: Rounding::Float,
            out_dtype: od,
        };
        let to_i8 = |v: &[i64]| Tensor::from_vec(&[4], v.iter().map(|&x| x as i8).collect()).unwrap();
        let y = eval_op(&op, &[&to_i8(&a), &to_i8(&b)]).unwrap();
        let (qmin, qmax) = od.int_range().unwrap();
        let m = (a_s * b_s) / c_s;
        let expected: Vec<i64> = (0..4)
            .map(|i| {
                let p = (a[i] - i64::from(a_zp)) * (b[i] - i64::from(b_zp));
                ((p as f32 * m) + c_zp as f32).round_ties_even().clamp(qmin as f32, qmax as f32) as i64
            })
            .collect();
        prop_assert_eq!(ints(&y), expected);
    }

    /// MLAS's QLinearGlobalAveragePool: `mult = f32(x_s / f32(y_s · f32(n)))`,
    /// `clip(rint(f32(acc) · mult) + y_zp)` (`qref.qlinear_gap` divides in another order).
    #[test]
    fn global_avg_pool_float_is_mlas(
        x in prop::collection::vec(0u8..=255, 2 * 3 * 5),
        (x_s, y_s) in (scale(), scale()),
        (x_zp, y_zp) in (zp(DType::U8), zp(DType::U8)),
    ) {
        let op = Op::QnnGlobalAvgPool2d {
            layout: DataLayout::Nchw,
            input: QuantParams::per_tensor(x_s, x_zp),
            output: QuantParams::per_tensor(y_s, y_zp),
            rounding: Rounding::Float,
            out_dtype: DType::U8,
        };
        let t = Tensor::from_vec(&[1, 2, 3, 5], x.clone()).unwrap();
        let y = eval_op(&op, &[&t]).unwrap();
        let n = 15;
        let mult = x_s / (y_s * n as f32);
        let expected: Vec<i64> = x
            .chunks(n)
            .map(|c| {
                let acc: i64 = c.iter().map(|&v| i64::from(v)).sum::<i64>() - i64::from(x_zp) * n as i64;
                ((acc as f32 * mult).round_ties_even() + y_zp as f32).clamp(0.0, 255.0) as i64
            })
            .collect();
        prop_assert_eq!(ints(&y), expected);
    }
}

#[test]
fn float_and_fixed_differ_exactly_on_ties() {
    // 5 · 0.5 = 2.5 and −5 · 0.5 = −2.5: float rounds half to even (2, −2), upward (3, −2),
    // tonearest (3, −3), tflite (3, −2: its one rounding, in the high multiply, goes up).
    let x = Tensor::from_vec(&[2], vec![5i32, -5]).unwrap();
    let expect = [
        (Rounding::Float, [2i8, -2]),
        (Rounding::Upward, [3, -2]),
        (Rounding::ToNearest, [3, -3]),
        (Rounding::Tflite, [3, -2]),
    ];
    for (rounding, want) in expect {
        let op = Op::QnnRequantize {
            input: QuantParams::per_tensor(0.5, 0),
            output: QuantParams::per_tensor(1.0, 0),
            rounding,
            out_dtype: DType::I8,
        };
        assert_eq!(infer_type(&op, &[&x.ty()]).unwrap().dtype, DType::I8);
        let y = eval_op(&op, &[&x]).unwrap();
        assert_eq!(y, Tensor::from_vec(&[2], want.to_vec()).unwrap(), "{rounding}");
    }
}
