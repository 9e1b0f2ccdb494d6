//! Every other QNN op lowers to core ops that compute exactly the reference's bits, in every
//! rounding mode: requantize (per-axis parameters and zero points included), quantize
//! (NaN, ±∞, ties), dequantize, add, mul, concatenate, avg/global-avg/max pooling, clip, relu.

mod common;

use common::*;
use proptest::prelude::*;
use qnn_ir::*;
use qnn_legalize::{Capability, legalize};

/// One-op graph on `inputs`; the legalized graph must give the reference's bits.
fn check_op(op: Op, inputs: Vec<Tensor>) -> Result<(), TestCaseError> {
    let mut b = GraphBuilder::new("op");
    let ids: Vec<ValueId> =
        inputs.iter().enumerate().map(|(i, t)| b.input(format!("x{i}"), t.ty()).unwrap()).collect();
    // Attributes inference refuses (e.g. a dilated window that sees only padding) are not cases.
    let y = b.node("op", op, &ids);
    prop_assume!(y.is_ok());
    let y = y.unwrap();
    b.output(y);
    let g = b.finish().unwrap();
    let want = reference::run(&g, &inputs);
    // Parameters the reference itself refuses (e.g. a multiplier ≥ 2^31) are not cases.
    prop_assume!(want.is_ok());
    let l = legalize(&g, &only("x86-avx2"), &Capability)
        .map_err(|e| TestCaseError::fail(format!("legalize: {e}")))?;
    prop_assert!(l.graph.nodes.iter().all(|n| !n.op.is_qnn()));
    records::check(&l);
    let got = reference::run(&l.graph, &inputs)
        .map_err(|e| TestCaseError::fail(format!("lowered graph: {e}\n{:?}", l.graph.nodes)))?;
    prop_assert_eq!(got, want.unwrap(), "{:?}", l.graph.nodes);
    Ok(())
}

fn ints(dtype: DType, shape: Vec<usize>) -> impl Strategy<Value = Tensor> {
    let n: usize = shape.iter().product();
    prop::collection::vec(value_of(dtype), n).prop_map(move |v| tensor(dtype, &shape, v))
}

fn shape(rank: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=4, rank)
}

fn scale() -> impl Strategy<Value = f32> {
    prop_oneof![1e-3f32..4.0, prop::sample::select(vec![0.5f32, 1.0, 0.25, 0.1, 1.5])]
}

fn rounding() -> impl Strategy<Value = Rounding> {
    prop::sample::select(Rounding::ALL.to_vec())
}

/// Parameters for a tensor of `shape` and `dtype`: per tensor, or per axis with per-channel
/// scales and (when `zp_per_channel`) zero points.
fn params(dtype: DType, shape: Vec<usize>, zp_per_channel: bool) -> BoxedStrategy<QuantParams> {
    let rank = shape.len();
    let per_tensor =
        (scale(), zero_point_of(dtype)).prop_map(|(s, z)| QuantParams::per_tensor(s, z));
    if rank == 0 {
        return per_tensor.boxed();
    }
    let per_axis = (0..rank).prop_flat_map(move |ax| {
        let c = shape[ax];
        let nz = if zp_per_channel { c } else { 1 };
        (prop::collection::vec(scale(), c), prop::collection::vec(zero_point_of(dtype), nz))
            .prop_map(move |(s, z)| QuantParams::per_axis(s, z, ax))
    });
    prop_oneof![per_tensor, per_axis].boxed()
}

fn all_ints() -> impl Strategy<Value = DType> {
    prop::sample::select(vec![DType::U8, DType::I8, DType::I16, DType::I32])
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn requantize(
        (x, input, output, rounding, out) in (all_ints(), all_ints(), shape(1..=3)).prop_flat_map(|(d, out, s)| {
            (
                ints(d, s.clone()),
                params(d, s.clone(), d != DType::I32),
                params(out, s, out != DType::I32),
                rounding(),
                Just(out),
            )
        })
    ) {
        // Per-axis input and output parameters must share their axis (inference).
        let output = match (input.axis, output.axis) {
            (Some(a), Some(b)) if a != b => QuantParams::per_tensor(output.scale[0], output.zero_point[0]),
            _ => output,
        };
        check_op(Op::QnnRequantize { input, output, rounding, out_dtype: out }, vec![x])?;
    }

    #[test]
    fn quantize(
        (x, output, out) in (prop::sample::select(vec![DType::U8, DType::I8, DType::I16]), shape(1..=3))
            .prop_flat_map(|(out, s)| {
                let n: usize = s.iter().product();
                let special = prop::sample::select(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.5, -0.5, 1.5, 2.5, -2.5, 1e9, -1e9, 3e7, -3e7]);
                let v = prop::collection::vec(prop_oneof![3 => -300.0f32..300.0, 1 => special], n);
                (v.prop_map({ let s = s.clone(); move |v| Tensor::from_vec(&s, v).unwrap() }), params(out, s, true), Just(out))
            })
    ) {
        check_op(Op::QnnQuantize { output, out_dtype: out }, vec![x])?;
    }

    #[test]
    fn dequantize(
        (x, input) in (all_ints(), shape(1..=3)).prop_flat_map(|(d, s)| {
            (ints(d, s.clone()), params(d, s, d != DType::I32))
        })
    ) {
        let input = if x.dtype() == DType::I32 {
            QuantParams { zero_point: vec![0], ..input }
        } else {
            input
        };
        check_op(Op::QnnDequantize { input }, vec![x])?;
    }

    #[test]
    fn add_and_mul(
        (a, b, qa, qb, qo, rounding, out, mul) in (dtype8(), dtype8(), dtype8(), shape(1..=3)).prop_flat_map(|(da, db, out, s)| {
            // rhs broadcasts: some of its dims set to 1, or a suffix of the shape.
            let rs = s.clone();
            let rhs_shape = prop_oneof![
                Just(rs.clone()),
                Just(rs.iter().map(|_| 1).collect::<Vec<_>>()),
                Just(rs[rs.len() - 1..].to_vec()),
            ];
            (
                ints(da, s.clone()),
                rhs_shape.prop_flat_map(move |rs| ints(db, rs)),
                (scale(), zero_point_of(da)).prop_map(|(s, z)| QuantParams::per_tensor(s, z)),
                (scale(), zero_point_of(db)).prop_map(|(s, z)| QuantParams::per_tensor(s, z)),
                (scale(), zero_point_of(out)).prop_map(|(s, z)| QuantParams::per_tensor(s, z)),
                rounding(),
                Just(out),
                any::<bool>(),
            )
        })
    ) {
        let op = if mul {
            Op::QnnMul { lhs: qa, rhs: qb, output: qo, rounding, out_dtype: out }
        } else {
            Op::QnnAdd { lhs: qa, rhs: qb, output: qo, rounding, out_dtype: out }
        };
        check_op(op, vec![a, b])?;
    }

    #[test]
    fn concatenate(
        (xs, qs, qo, rounding, out, axis) in (prop::collection::vec(dtype8(), 1..=3), dtype8(), shape(2..=3)).prop_flat_map(|(ds, out, s)| {
            let rank = s.len();
            let oq = (scale(), zero_point_of(out)).prop_map(|(s, z)| QuantParams::per_tensor(s, z));
            (0..rank, Just(ds), Just(out), Just(s), oq).prop_flat_map(|(axis, ds, out, s, oq)| {
                let parts: Vec<_> = ds.iter().map(|&d| {
                    let s = s.clone();
                    (1usize..=3).prop_flat_map(move |len| { let mut s = s.clone(); s[axis] = len; ints(d, s) })
                }).collect();
                let qs: Vec<_> = ds.iter().map(|&d| {
                    let own = (scale(), zero_point_of(d)).prop_map(|(s, z)| QuantParams::per_tensor(s, z));
                    // The output's own parameters (valid for this input's dtype) half the time.
                    if d.contains(i64::from(oq.zero_point[0])) {
                        prop_oneof![own.boxed(), Just(oq.clone()).boxed()].boxed()
                    } else {
                        own.boxed()
                    }
                }).collect();
                (parts, qs, Just(oq), rounding(), Just(out), Just(axis))
            })
        })
    ) {
        // Inputs whose parameters equal the output's are only cast: make that happen often.
        check_op(Op::QnnConcatenate { inputs: qs, output: qo, axis, rounding, out_dtype: out }, xs)?;
    }

    #[test]
    fn pools(
        (x, pool, cip, qi, qo, rounding, out, which) in (dtype8(), dtype8(), prop::sample::select(vec![DataLayout::Nchw, DataLayout::Nhwc])).prop_flat_map(|(d, out, layout)| {
            ((1usize..=3, 1usize..=3), (1usize..=2, 1usize..=2), (1usize..=2, 1usize..=2), (0usize..=2, 0usize..=2, 0usize..=2, 0usize..=2), (0usize..=3, 0usize..=3), 1usize..=3)
                .prop_flat_map(move |((kh, kw), (sh, sw), (dh, dw), (pt, pl, pb, pr), (eh, ew), c)| {
                    let pads = [pt.min(kh - 1), pl.min(kw - 1), pb.min(kh - 1), pr.min(kw - 1)];
                    let span = |k: usize, d: usize| d * (k - 1) + 1;
                    let h = span(kh, dh).saturating_sub(pads[0] + pads[2]).max(1) + eh;
                    let w = span(kw, dw).saturating_sub(pads[1] + pads[3]).max(1) + ew;
                    let pool = Pool2dAttrs { kernel: [kh, kw], strides: [sh, sw], padding: pads, dilation: [dh, dw], layout };
                    (
                        ints(d, layout.shape(1, c, h, w)),
                        Just(pool),
                        any::<bool>(),
                        (scale(), zero_point_of(d)).prop_map(|(s, z)| QuantParams::per_tensor(s, z)),
                        (scale(), zero_point_of(out)).prop_map(|(s, z)| QuantParams::per_tensor(s, z)),
                        rounding(),
                        Just(out),
                        0u8..3,
                    )
                })
        })
    ) {
        let op = match which {
            0 => Op::QnnAvgPool2d { pool, count_include_pad: cip, input: qi, output: qo, rounding, out_dtype: out },
            1 => Op::QnnGlobalAvgPool2d { layout: pool.layout, input: qi, output: qo, rounding, out_dtype: out },
            _ => Op::QnnMaxPool2d { pool },
        };
        check_op(op, vec![x])?;
    }

    #[test]
    fn clip_and_relu(
        (x, q, min, max, relu) in (dtype8(), shape(1..=3)).prop_flat_map(|(d, s)| {
            (ints(d, s), (scale(), zero_point_of(d)).prop_map(|(s, z)| QuantParams::per_tensor(s, z)), -50.0f32..50.0, 0.0f32..60.0, any::<bool>())
        })
    ) {
        let op = if relu { Op::QnnRelu { q } } else { Op::QnnClip { min: min.min(max), max: min.max(max), q } };
        check_op(op, vec![x])?;
    }
}
