//! The runtime's fast non-conv implementations — the element-wise evaluator (the lowerings
//! of quantize, dequantize, requantize, qnn.add, clip; core integer and f32 ops with
//! broadcasting), transposes, sums, pools, concatenation — bit for bit against the
//! reference, errors included, on random shapes, dtypes, zero points and roundings.

mod common;

use common::{config, tensor, values};
use proptest::prelude::*;
use qnn_ir::*;
use qnn_runtime::{CompileOptions, Compiler, Exec};

/// Runs `g` compiled (1 and 3 threads) and on the reference; both fail or both agree.
/// Returns the compiled model's count of reference steps. The oracle is the reference run
/// of the graph the runtime gets: the legalized one when `g` holds QNN ops (what this file
/// tests is the runtime's implementation of core ops, not the legalizer's lowerings).
fn same(g: &Graph, inputs: &[Tensor]) -> Result<usize, TestCaseError> {
    let want = if g.nodes.iter().any(|n| n.op.is_qnn()) {
        let t = qnn_legalize::Target::host();
        let l = qnn_legalize::legalize(g, &t, &qnn_legalize::CostModel::new())
            .map_err(|e| TestCaseError::fail(format!("legalize: {e}")))?;
        reference::run(&l.graph, inputs)
    } else {
        reference::run(g, inputs)
    };
    let mut on_reference = 0;
    for threads in [1, 3] {
        let c = Compiler::new(CompileOptions::new().threads(threads));
        let m =
            if g.nodes.iter().any(|n| n.op.is_qnn()) { c.compile(g) } else { c.compile_lowered(g) };
        let m = m.map_err(|e| TestCaseError::fail(format!("compile: {e}")))?;
        on_reference = m.report().count(Exec::Reference);
        match (&want, m.run(inputs)) {
            (Ok(w), Ok(o)) => {
                // Bits, so that -0.0 ≠ 0.0; every NaN alike: Rust leaves the sign and payload
                // of a NaN an operation produces unspecified (x86 gives inf − inf a negative
                // NaN, a NaN operand passes through), so not even the reference fixes them.
                let bits = |ts: &[Tensor]| -> Vec<Vec<u64>> {
                    let b = |v: &f64| if v.is_nan() { f64::NAN.to_bits() } else { v.to_bits() };
                    ts.iter().map(|t| t.to_f64_vec().iter().map(b).collect()).collect()
                };
                let types = |ts: &[Tensor]| ts.iter().map(Tensor::ty).collect::<Vec<_>>();
                prop_assert_eq!(types(w), types(&o));
                prop_assert_eq!(bits(w), bits(&o), "\n{}", m.report());
            }
            (Err(_), Err(_)) => {}
            (w, o) => prop_assert!(
                false,
                "reference {:?}, compiled {:?}\n{}",
                w.as_ref().err(),
                o.err(),
                m.report()
            ),
        }
    }
    Ok(on_reference)
}

fn shape4() -> impl Strategy<Value = Vec<usize>> {
    (1usize..=2, 1usize..=5, 1usize..=6, 1usize..=7).prop_map(|(n, c, h, w)| vec![n, c, h, w])
}

/// f32 data with the values quantization cares about: ties, NaN, ±∞, huge, −0.
fn f32_data(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30, -0.0, 0.0];
    values(n, seed, -600, 600)
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if i % 11 == 5 {
                special[(v.unsigned_abs() as usize) % special.len()]
            } else {
                v as f32 * 0.5 * scale
            }
        })
        .collect()
}

fn rounding() -> impl Strategy<Value = Rounding> {
    prop::sample::select(Rounding::ALL.to_vec())
}

fn zp8(u8: bool, pick: usize, seed: u64) -> i32 {
    let e: &[i32] = if u8 { &[0, 255, 128] } else { &[0, -128, 127] };
    e.get(pick).copied().unwrap_or_else(|| {
        if u8 { values(1, seed, 0, 255)[0] as i32 } else { values(1, seed, -128, 127)[0] as i32 }
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// quantize → requantize → qnn.add (with a second input) → clip → dequantize.
    #[test]
    fn qnn_element_wise_chains(
        shape in shape4(),
        (u8a, u8b, per_axis) in (any::<bool>(), any::<bool>(), any::<bool>()),
        (r1, r2) in (rounding(), rounding()),
        (za, zb, zo) in (0usize..5, 0usize..5, 0usize..5),
        (e1, e2) in (-3i32..=3, -2i32..=2),
        clip in 0u8..3,
        seed in any::<u64>(),
    ) {
        let c = shape[1];
        let da = if u8a { DType::U8 } else { DType::I8 };
        let db = if u8b { DType::U8 } else { DType::I8 };
        let mut b = GraphBuilder::new("ew");
        let x = b.input("x", TensorType::new(DType::F32, shape.clone())).unwrap();
        let y = b.input("y", TensorType::new(db, shape.clone())).unwrap();
        let qa = if per_axis {
            QuantParams::per_axis((0..c).map(|k| 0.02 + 0.01 * k as f32).collect(), (0..c).map(|k| zp8(u8a, (k + za) % 5, seed + k as u64)).collect(), 1)
        } else {
            QuantParams::per_tensor(0.02, zp8(u8a, za, seed))
        };
        let xq = b.node("quant", Op::QnnQuantize { output: qa.clone(), out_dtype: da }, &[x]).unwrap();
        let q1 = QuantParams::per_tensor(0.02 * 2f32.powi(e1), zp8(u8a, zo, seed ^ 1));
        let xr = b.node("rq", Op::QnnRequantize { input: qa, output: q1.clone(), rounding: r1, out_dtype: da }, &[xq]).unwrap();
        let qb = QuantParams::per_tensor(0.03, zp8(u8b, zb, seed ^ 2));
        let qo = QuantParams::per_tensor(0.04 * 2f32.powi(e2), zp8(u8a, zo, seed ^ 3));
        let add = Op::QnnAdd { lhs: q1, rhs: qb, output: qo.clone(), rounding: r2, out_dtype: da };
        let s = b.node("add", add, &[xr, y]);
        prop_assume!(s.is_ok());
        let mut s = s.unwrap();
        if clip == 1 {
            s = b.node("relu", Op::QnnRelu { q: qo.clone() }, &[s]).unwrap();
        } else if clip == 2 {
            s = b.node("clip", Op::QnnClip { min: -1.0, max: 2.5, q: qo.clone() }, &[s]).unwrap();
        }
        let f = b.node("deq", Op::QnnDequantize { input: qo }, &[s]).unwrap();
        b.output(f);
        b.output(s);
        let g = b.finish().unwrap();
        let n: usize = shape.iter().product();
        let xs = Tensor::from_vec(&shape, f32_data(n, seed, 0.02)).unwrap();
        let (lo, hi) = db.int_range().unwrap();
        let ys = tensor(db, &shape, values(n, seed ^ 9, lo, hi));
        prop_assert_eq!(same(&g, &[xs, ys])?, 0);
    }

    /// Core integer ops with broadcast constants (some overflow: both must refuse), casts,
    /// clips, and requantize per axis with every rounding, incl. i32 inputs with a zero
    /// point (|x − zp| beyond 2^31); f32 arithmetic and casts with NaN, ±∞ and ties.
    #[test]
    fn core_integer_and_float_ops(
        shape in shape4(),
        in_i32 in any::<bool>(),
        axes_pick in 0usize..5,
        fixed in prop::option::of(prop::sample::select(vec![FixedRounding::Upward, FixedRounding::ToNearest, FixedRounding::Tflite])),
        (zp_in, zp_out) in (prop::sample::select(vec![0i32, 7, -100_000, i32::MIN, i32::MAX]), -200i32..200),
        (out, to) in (prop::sample::select(vec![DType::U8, DType::I8, DType::I16, DType::I32]), prop::sample::select(vec![DType::U8, DType::I8, DType::I32])),
        (cmin, cmax) in (-300f64..100.0, 0f64..400.0),
        big_mult in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let dt = if in_i32 { DType::I32 } else { DType::I16 };
        let (lo, hi) = dt.int_range().unwrap();
        let n: usize = shape.iter().product();
        let mut v = values(n, seed ^ 11, lo, hi);
        v[0] = hi;
        if n > 1 {
            v[1] = lo;
        }
        let x_in = tensor(dt, &shape, v);

        // Requantize straight from the input: the widest x − zp.
        let mut b = GraphBuilder::new("requantize");
        let x = b.input("x", TensorType::new(dt, shape.clone())).unwrap();
        let axes: Vec<usize> = [vec![], vec![1], vec![3], vec![1, 2], vec![0, 1, 2, 3]][axes_pick].clone();
        let count: usize = axes.iter().map(|&a| shape[a]).product();
        let mults = values(count, seed ^ 7, 1, 1 << 20);
        let e = if big_mult { -20 } else { -30 };
        let scale = match fixed {
            Some(r) => {
                let mut ms: Vec<FixedPointMultiplier> = mults.iter().map(|&m| FixedPointMultiplier::from_real(m as f64 * 2f64.powi(e)).unwrap()).collect();
                // The largest Q31 value: |x · q| + the rounding addend leaves i64 when
                // |x| > 2^31 (an i32 input with a zero point at the other end).
                ms[0] = FixedPointMultiplier { multiplier: i32::MAX, shift: e + 10 };
                RequantScale::Fixed { mults: ms, rounding: r }
            }
            None => RequantScale::Float { mults: mults.iter().map(|&m| m as f32 * 2f32.powi(e)).collect() },
        };
        let zp_in = (zp_in as i64).clamp(lo, hi) as i32;
        let (olo, ohi) = out.int_range().unwrap();
        let zp_out = (zp_out as i64).clamp(olo, ohi) as i32;
        let r = b.node("rq", Op::Requantize { scale, axes, input_zero_point: zp_in, output_zero_point: zp_out, out_dtype: out }, &[x]).unwrap();
        b.output(r);
        if let Ok(c) = b.node("c", Op::Clip { min: cmin, max: cmax }, &[r]) {
            let y = b.node("cast", Op::Cast { to: DType::I8 }, &[c]).unwrap();
            b.output(y);
        }
        prop_assert_eq!(same(&b.finish().unwrap(), std::slice::from_ref(&x_in))?, 0);

        // Exact arithmetic with per-channel ([C,1,1]) and per-row ([H,1]) constants.
        let mut b = GraphBuilder::new("arith");
        let x = b.input("x", TensorType::new(dt, shape.clone())).unwrap();
        let k1 = b.constant("k1", tensor(dt, &[shape[1], 1, 1], values(shape[1], seed, lo / 2, hi / 2))).unwrap();
        let k2 = b.constant("k2", tensor(dt, &[shape[2], 1], values(shape[2], seed ^ 5, -3, 3))).unwrap();
        let a = b.node("a", Op::Add, &[x, k1]).unwrap();
        let m = b.node("m", Op::Multiply, &[a, k2]).unwrap();
        let s = b.node("s", Op::Subtract, &[m, x]).unwrap();
        let y = b.node("cast", Op::Cast { to: DType::I8 }, &[s]).unwrap();
        b.output(y);
        prop_assert_eq!(same(&b.finish().unwrap(), std::slice::from_ref(&x_in))?, 0);

        // f32: scaled by constants with NaN, ±∞, ties; rounded, clipped, cast back.
        let mut b = GraphBuilder::new("float");
        let x = b.input("x", TensorType::new(dt, shape.clone())).unwrap();
        let f = b.node("f", Op::Cast { to: DType::F32 }, &[x]).unwrap();
        let specials = [0.5f32, f32::NAN, f32::INFINITY, -1e-3, 2.5e-5, 1e38, -0.0];
        let kc: Vec<f32> = (0..shape[3]).map(|i| specials[(i + seed as usize) % specials.len()]).collect();
        let kf = b.constant("kf", Tensor::from_vec(&[shape[3]], kc).unwrap()).unwrap();
        let q = b.node("q", Op::Multiply, &[f, kf]).unwrap();
        let d = b.node("d", Op::Divide, &[q, kf]).unwrap();
        let r = b.node("r", Op::Round, &[q]).unwrap();
        let c = b.node("cl", Op::Clip { min: cmin.min(cmax), max: cmax.max(cmin) }, &[r]).unwrap();
        let i = b.node("i", Op::Cast { to }, &[c]).unwrap();
        let j = b.node("j", Op::Cast { to }, &[d]).unwrap();
        b.output(i);
        b.output(j);
        b.output(d);
        prop_assert_eq!(same(&b.finish().unwrap(), std::slice::from_ref(&x_in))?, 0);
    }

    /// Transposes, reshapes, concatenation, sums over contiguous axes and pools in both
    /// layouts.
    #[test]
    fn data_movement_and_reductions(
        shape in shape4(),
        perm in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
        sum_axes in prop::sample::select(vec![vec![2usize, 3], vec![1], vec![1, 2, 3], vec![3], vec![0]]),
        keepdims in any::<bool>(),
        (kind, nhwc, k, stride, pad) in (prop::sample::select(vec![PoolKind::Sum, PoolKind::Max]), any::<bool>(), 1usize..=3, 1usize..=2, 0usize..=2),
        seed in any::<u64>(),
    ) {
        let n: usize = shape.iter().product();
        let mut b = GraphBuilder::new("data");
        let x = b.input("x", TensorType::new(DType::I8, shape.clone())).unwrap();
        let t = b.node("t", Op::Transpose { perm: perm.clone() }, &[x]).unwrap();
        let r = b.node("r", Op::Reshape { shape: vec![n] }, &[t]).unwrap();
        b.output(r);
        let cat = b.node("cat", Op::Concatenate { axis: perm[0] }, &[x, x]).unwrap();
        b.output(cat);
        let s = b.node("sum", Op::Sum { axes: sum_axes, keepdims }, &[x]).unwrap();
        b.output(s);
        let layout = if nhwc { DataLayout::Nhwc } else { DataLayout::Nchw };
        let [_, _, h, w] = layout.nchw(&shape);
        let k = k.min(h).min(w);
        let pool = Pool2dAttrs { kernel: [k, k], strides: [stride; 2], padding: [pad.min(k - 1); 4], dilation: [1, 1], layout };
        if let Ok(p) = b.node("pool", Op::Pool2d { kind, pool: pool.clone(), pad_value: -3 }, &[x]) {
            b.output(p);
        }
        // f32 pools (window-order sums from +0, maxima where NaN never wins) on values with
        // NaN, ±∞ and signed zeros.
        let f = b.node("f", Op::Cast { to: DType::F32 }, &[x]).unwrap();
        let specials = [0.5f32, f32::NAN, f32::INFINITY, -0.0, 1e-3, -7.25];
        let w = shape[3];
        let kc: Vec<f32> = (0..w).map(|i| specials[(i + seed as usize) % specials.len()]).collect();
        let kf = b.constant("kf", Tensor::from_vec(&[w], kc).unwrap()).unwrap();
        let fs = b.node("fs", Op::Multiply, &[f, kf]).unwrap();
        if let Ok(p) = b.node("fpool", Op::Pool2d { kind, pool, pad_value: -3 }, &[fs]) {
            b.output(p);
        }
        let g = b.finish().unwrap();
        let x = tensor(DType::I8, &shape, values(n, seed, -128, 127));
        prop_assert_eq!(same(&g, &[x])?, 0);
    }
}
