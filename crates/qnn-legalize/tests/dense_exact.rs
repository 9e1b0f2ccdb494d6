//! ARCHITECTURE.md §4, qnn.dense: both lowerings under every dtype legalization are exact
//! (rank 2 and 3 data, per-channel zero points, bias, requantize in every mode), and the
//! pattern matcher recognizes each form.

mod common;

use common::*;
use proptest::prelude::*;
use qnn_ir::*;
use qnn_legalize::{Lowering, match_fused_conv};

#[derive(Debug, Clone)]
struct DenseCase {
    lead: Vec<usize>,
    k: usize,
    units: usize,
    data: DType,
    weight: DType,
    a: i32,
    wzp: Vec<i32>,
    x: Vec<i64>,
    wts: Vec<i64>,
    bias: Option<Vec<i64>>,
    rounding: Rounding,
    out: DType,
    out_zp: i32,
    in_scales: Vec<f32>,
}

fn dense_case() -> impl Strategy<Value = DenseCase> {
    (
        prop::collection::vec(1usize..=3, 1..=2),
        1usize..=9,
        1usize..=5,
        dtype8(),
        dtype8(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(lead, k, units, data, weight, per_channel, with_bias)| {
            let m: usize = lead.iter().product();
            (
                (Just(lead), Just(k), Just(units), Just(data), Just(weight)),
                zero_point_of(data),
                prop::collection::vec(zero_point_of(weight), if per_channel { units } else { 1 }),
                prop::collection::vec(value_of(data), m * k),
                prop::collection::vec(value_of(weight), units * k),
                prop::collection::vec(-30_000i64..=30_000, units)
                    .prop_map(move |v| with_bias.then_some(v)),
                prop::sample::select(Rounding::ALL.to_vec()),
                prop::sample::select(vec![DType::U8, DType::I8, DType::I16])
                    .prop_flat_map(|d| (Just(d), zero_point_of(d))),
                prop::collection::vec(1e-4f32..1e-1, if per_channel { units } else { 1 }),
            )
        })
        .prop_map(
            |(
                (lead, k, units, data, weight),
                a,
                wzp,
                x,
                wts,
                bias,
                rounding,
                (out, out_zp),
                in_scales,
            )| {
                DenseCase {
                    lead,
                    k,
                    units,
                    data,
                    weight,
                    a,
                    wzp,
                    x,
                    wts,
                    bias,
                    rounding,
                    out,
                    out_zp,
                    in_scales,
                }
            },
        )
}

fn build(c: &DenseCase) -> (Graph, Tensor) {
    let (g, x, _) = build_with(c, false);
    (g, x)
}

/// The case's QNN graph with the weights a constant or, `dynamic`, a second graph input (as
/// when they are computed at run time); its input(s): the data, and the weights.
fn build_with(c: &DenseCase, dynamic: bool) -> (Graph, Tensor, Tensor) {
    let mut shape = c.lead.clone();
    shape.push(c.k);
    let x = tensor(c.data, &shape, c.x.clone());
    let w = tensor(c.weight, &[c.units, c.k], c.wts.clone());
    let kernel = if c.wzp.len() > 1 {
        QuantParams::per_axis(vec![0.05; c.units], c.wzp.clone(), 0)
    } else {
        QuantParams::per_tensor(0.05, c.wzp[0])
    };
    let mut b = GraphBuilder::new("dense");
    let xv = b.input("x", x.ty()).unwrap();
    let wv =
        if dynamic { b.input("w", w.ty()).unwrap() } else { b.constant("w", w.clone()).unwrap() };
    let mut y = b
        .node("fc", Op::QnnDense { input: QuantParams::per_tensor(0.1, c.a), kernel }, &[xv, wv])
        .unwrap();
    if let Some(bias) = &c.bias {
        let bv = b.constant("bias", tensor(DType::I32, &[1, c.units], bias.clone())).unwrap();
        y = b.node("fc_bias", Op::Add, &[bv, y]).unwrap();
    }
    let last = shape.len() - 1;
    let input = if c.in_scales.len() > 1 {
        QuantParams::per_axis(c.in_scales.clone(), vec![0], last)
    } else {
        QuantParams::per_tensor(c.in_scales[0], 0)
    };
    let output = QuantParams::per_tensor(0.25, c.out_zp);
    y = b
        .node(
            "rq",
            Op::QnnRequantize { input, output, rounding: c.rounding, out_dtype: c.out },
            &[y],
        )
        .unwrap();
    b.output(y);
    (b.finish().unwrap(), x, w)
}

proptest! {
    #![proptest_config(config(512))]
    #[test]
    fn dense_lowerings_are_exact(c in dense_case()) {
        let (g, x) = build(&c);
        let inputs = [x];
        let want = reference::run(&g, &inputs).expect("reference on the QNN graph");
        let runs = LEGALIZATIONS
            .iter()
            .map(|b| (*b, Lowering::Int8ZeroPointTerms))
            .chain([("arm-neon", Lowering::Int16Upcast)]);
        for (backend, lowering) in runs {
            let l = check_exact(&g, &inputs, &want, backend, lowering);
            let convs = conv_nodes(&l.graph);
            prop_assert_eq!(convs.len(), 1);
            let f = match_fused_conv(&l.graph, convs[0]).expect("the canonical form is recognized");
            prop_assert_eq!(f.lowering, lowering);
            prop_assert_eq!(f.nodes.len(), l.graph.nodes.len());
            prop_assert_eq!(f.output, l.graph.outputs[0]);
            prop_assert_eq!(f.input, l.graph.inputs[0]);
            prop_assert_eq!(f.weight_zero_points.is_some(), l.explanation.ops[0].t3);
            prop_assert!(l.explanation.ops[0].bias_folded == c.bias.is_some());
        }
    }
}

proptest! {
    #![proptest_config(config(128))]
    /// Weights computed at run time: the int16 upcast with both operands prepared at run time,
    /// exact.
    #[test]
    fn dense_with_weights_computed_at_run_time_is_exact(c in dense_case()) {
        let (g, x, w) = build_with(&c, true);
        check_dynamic(&g, &[x, w]);
    }
}
