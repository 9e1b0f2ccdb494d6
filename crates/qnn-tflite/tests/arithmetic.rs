//! Property tests of TFLite's integer arithmetic on models built with random parameters: the
//! imported graph, run by qnn-ir's reference interpreter, against TFLite's reference kernels
//! transcribed here (`reference_integer_ops::AddElementwise`, `SubElementwise`,
//! `MulElementwise`, `AveragePool`) in their own i32
//! arithmetic, independent of qnn-ir's fixed-point code.

mod common;

use common::{Op, Opt, T, build};
use proptest::prelude::*;
use qnn_ir::Tensor;
use qnn_tflite::schema::{ActivationFunctionType as Act, BuiltinOperator, Padding, TensorType};
use qnn_tflite::{ImportOptions, Kernels, Model};

/// gemmlowp's `SaturatingRoundingDoublingHighMul` as TFLite has it (C's truncating division).
fn srdhm(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`.
fn rdbp(x: i32, e: i32) -> i32 {
    let mask = (1i32 << e) - 1;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> e) + i32::from(remainder > threshold)
}

/// TFLite's `QuantizeMultiplier`: (q, shift).
fn quantize_multiplier(m: f64) -> (i32, i32) {
    if m == 0.0 {
        return (0, 0);
    }
    let (mut f, mut e) = (m, 0);
    while f >= 1.0 {
        f /= 2.0;
        e += 1;
    }
    while f < 0.5 {
        f *= 2.0;
        e -= 1;
    }
    let mut q = (f * 2f64.powi(31)).round() as i64;
    if q == 1 << 31 {
        q /= 2;
        e += 1;
    }
    if e < -31 { (0, 0) } else { (q as i32, e) }
}

fn act_range(act: Act, scale: f32, zp: i32) -> (i32, i32) {
    let q = |f: f32| zp + (f / scale).round() as i32;
    match act {
        Act::RELU => (q(0.0).max(-128), 127),
        Act::RELU6 => (q(0.0).max(-128), q(6.0).min(127)),
        _ => (-128, 127),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Binary {
    Add,
    Sub,
    Mul,
}

/// `MultiplyByQuantizedMultiplier` (gemmlowp's double rounding).
fn mbqm(x: i32, (q, shift): (i32, i32)) -> i32 {
    let left = shift.max(0);
    rdbp(srdhm(x * (1 << left), q), (-shift).max(0))
}

/// `add.cc` / `sub.cc` Prepare + `AddElementwise` / `SubElementwise`, or `mul.cc` Prepare +
/// `MulElementwise`, int8.
#[allow(clippy::too_many_arguments)]
fn tflite_binary(
    op: Binary,
    a: &[i8],
    b: &[i8],
    channels: usize,
    qa: (f32, i32),
    qb: (f32, i32),
    qo: (f32, i32),
    act: Act,
) -> Vec<i8> {
    let (lo, hi) = act_range(act, qo.0, qo.1);
    let y = |i: usize| b[if b.len() == a.len() { i } else { i % channels }];
    if op == Binary::Mul {
        let m = quantize_multiplier(f64::from(qa.0 * qb.0 / qo.0));
        return a
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let p = (i32::from(x) - qa.1) * (i32::from(y(i)) - qb.1);
                (qo.1 + mbqm(p, m)).clamp(lo, hi) as i8
            })
            .collect();
    }
    let twice_max = f64::from(2.0 * qa.0.max(qb.0));
    let (m1, s1) = quantize_multiplier(f64::from(qa.0) / twice_max);
    let (m2, s2) = quantize_multiplier(f64::from(qb.0) / twice_max);
    let (mo, so) = quantize_multiplier(twice_max / f64::from((1 << 20) as f32 * qo.0));
    a.iter()
        .enumerate()
        .map(|(i, &x)| {
            let x1 = (i32::from(x) - qa.1) * (1 << 20);
            let x2 = (i32::from(y(i)) - qb.1) * (1 << 20);
            let (s1v, s2v) = (rdbp(srdhm(x1, m1), -s1), rdbp(srdhm(x2, m2), -s2));
            let sum = if op == Binary::Sub { s1v - s2v } else { s1v + s2v };
            (rdbp(srdhm(sum, mo), -so) + qo.1).clamp(lo, hi) as i8
        })
        .collect()
}

fn scale() -> impl Strategy<Value = f32> {
    (1.0f32..2.0, -9i32..1).prop_map(|(m, e)| m * 2f32.powi(e))
}

fn acts() -> impl Strategy<Value = Act> {
    prop::sample::select(vec![Act::NONE, Act::RELU, Act::RELU6])
}

fn run(bytes: Vec<u8>, inputs: &[Tensor], kernels: Kernels) -> Vec<Tensor> {
    let model = Model::from_bytes(bytes).unwrap();
    let g = model.import(&ImportOptions { kernels, ..ImportOptions::default() }).unwrap().graph;
    qnn_ir::reference::run(&g, inputs).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn add_sub_mul_are_tflites(
        op in prop::sample::select(vec![Binary::Add, Binary::Sub, Binary::Mul]),
        (h, w, c) in (1usize..4, 1usize..5, 1usize..6),
        per_channel_b in any::<bool>(),
        qa in (scale(), -128i32..128), qb in (scale(), -128i32..128), qo in (scale(), -128i32..128),
        act in acts(),
        seed in any::<u64>(),
    ) {
        let shape = [1, h as i32, w as i32, c as i32];
        let bshape: Vec<i32> = if per_channel_b { vec![c as i32] } else { shape.to_vec() };
        let n = h * w * c;
        let mut rng = seed;
        let mut next = || { rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (rng >> 56) as u8 as i8 };
        let a: Vec<i8> = (0..n).map(|_| next()).collect();
        let mut b: Vec<i8> = (0..bshape.iter().product::<i32>() as usize).map(|_| next()).collect();
        if let Some(x) = b.first_mut() { *x = -128; }
        let tensors = [
            T::q8(&shape, TensorType::INT8, qa.0, i64::from(qa.1)),
            T::q8(&bshape, TensorType::INT8, qb.0, i64::from(qb.1)),
            T::q8(&shape, TensorType::INT8, qo.0, i64::from(qo.1)),
        ];
        let (code, opt) = match op {
            Binary::Add => (BuiltinOperator::ADD, Opt::Add(act)),
            Binary::Sub => (BuiltinOperator::SUB, Opt::Sub(act)),
            Binary::Mul => (BuiltinOperator::MUL, Opt::Mul(act)),
        };
        let node = Op { code, inputs: vec![0, 1], outputs: vec![2], opt };
        let bytes = build(&tensors, &[node], &[0, 1], &[2]);
        let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
        let bdims: Vec<usize> = bshape.iter().map(|&d| d as usize).collect();
        let inputs = [Tensor::from_vec(&dims, a.clone()).unwrap(), Tensor::from_vec(&bdims, b.clone()).unwrap()];
        let want = Tensor::from_vec(&dims, tflite_binary(op, &a, &b, c, qa, qb, qo, act)).unwrap();
        for kernels in [Kernels::Builtin, Kernels::Reference] {
            prop_assert_eq!(&run(bytes.clone(), &inputs, kernels)[0], &want);
        }
    }

    #[test]
    fn average_pool_is_tflites(
        (h, w, c) in (1usize..8, 1usize..8, 1usize..4),
        (fh, fw) in (1usize..5, 1usize..5),
        (sh, sw) in (1usize..4, 1usize..4),
        same in any::<bool>(),
        zp in -128i32..128,
        act in acts(),
        seed in any::<u64>(),
    ) {
        prop_assume!(same || (fh <= h && fw <= w));
        let out = |i: usize, f: usize, s: usize| if same { i.div_ceil(s) } else { (i + s - f) / s };
        let pad = |i: usize, f: usize, s: usize| (((out(i, f, s) - 1) * s + f) as i64 - i as i64).max(0) as usize / 2;
        let (oh, ow) = (out(h, fh, sh), out(w, fw, sw));
        let (ph, pw) = (pad(h, fh, sh), pad(w, fw, sw));
        let mut rng = seed;
        let x: Vec<i8> = (0..h * w * c).map(|_| { rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1); (rng >> 56) as u8 as i8 }).collect();
        let (lo, hi) = act_range(act, 0.05, zp);
        // TFLite's reference_integer_ops::AveragePool.
        let mut want = Vec::new();
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..c {
                    let (y0, x0) = ((oy * sh) as i64 - ph as i64, (ox * sw) as i64 - pw as i64);
                    let (mut acc, mut count) = (0i32, 0i32);
                    for fy in (-y0).max(0)..(fh as i64).min(h as i64 - y0) {
                        for fx in (-x0).max(0)..(fw as i64).min(w as i64 - x0) {
                            acc += i32::from(x[(((y0 + fy) as usize) * w + (x0 + fx) as usize) * c + ch]);
                            count += 1;
                        }
                    }
                    let avg = if acc > 0 { (acc + count / 2) / count } else { (acc - count / 2) / count };
                    want.push(avg.clamp(lo, hi) as i8);
                }
            }
        }
        let tensors = [
            T::q8(&[1, h as i32, w as i32, c as i32], TensorType::INT8, 0.05, i64::from(zp)),
            T::q8(&[1, oh as i32, ow as i32, c as i32], TensorType::INT8, 0.05, i64::from(zp)),
        ];
        let padding = if same { Padding::SAME } else { Padding::VALID };
        let opt = Opt::Pool(padding, [fh as i32, fw as i32], [sh as i32, sw as i32], act);
        let op = Op { code: BuiltinOperator::AVERAGE_POOL_2D, inputs: vec![0], outputs: vec![1], opt };
        let bytes = build(&tensors, &[op], &[0], &[1]);
        let input = Tensor::from_vec(&[1, h, w, c], x).unwrap();
        let want = Tensor::from_vec(&[1, oh, ow, c], want).unwrap();
        prop_assert_eq!(&run(bytes, &[input], Kernels::Builtin)[0], &want);
    }
}
