//! qnn.conv2d_transpose: for random shapes, strides, padding (also beyond the kernel's reach),
//! output padding, dilation, groups, dtypes and zero points (0/255/−128/127 well
//! represented, per tensor or per output channel), the legalized graph — zero insertion, then
//! a qnn.conv2d in both lowerings under every dtype legalization — computes exactly the bits
//! of the reference's scatter formula, bias and requantization included.

mod common;

use common::*;
use proptest::prelude::*;
use qnn_ir::*;
use qnn_legalize::{Capability, LegalizeError, Lowering, legalize};

#[derive(Debug, Clone)]
struct Case {
    n: usize,
    g: usize,
    cpg: usize,
    mpg: usize,
    hw: [usize; 2],
    k: [usize; 2],
    conv: ConvTranspose2dAttrs,
    data: DType,
    weight: DType,
    a: i32,
    wzp: Vec<i32>,
    x: Vec<i64>,
    w: Vec<i64>,
    bias: Option<Vec<i64>>,
    scales: Vec<f32>,
}

fn geometry()
-> impl Strategy<Value = (usize, usize, usize, usize, [usize; 2], [usize; 2], ConvTranspose2dAttrs)>
{
    let groups = prop_oneof![
        (Just(1usize), 1usize..=4, 1usize..=4),
        (2usize..=3, 1usize..=3, 1usize..=2),
        (2usize..=4, Just(1usize), Just(1usize)),
    ];
    (
        groups,
        1usize..=2,
        (1usize..=4, 1usize..=4),
        (1usize..=4, 1usize..=4),
        (1usize..=3, 1usize..=3),
        (1usize..=2, 1usize..=2),
        (0usize..=4, 0usize..=4, 0usize..=4, 0usize..=4),
        (0usize..=2, 0usize..=2),
    )
        .prop_map(
            |(
                (g, cpg, mpg),
                n,
                (h, w),
                (kh, kw),
                (sh, sw),
                (dh, dw),
                (pt, pl, pb, pr),
                (oh, ow),
            )| {
                let conv = ConvTranspose2dAttrs {
                    strides: [sh, sw],
                    padding: [pt, pl, pb, pr],
                    output_padding: [oh % sh.max(dh), ow % sw.max(dw)],
                    dilation: [dh, dw],
                    groups: g,
                };
                (g, cpg, mpg, n, [h, w], [kh, kw], conv)
            },
        )
        .prop_filter("an output", |(_, _, _, _, hw, k, c)| {
            (0..2).all(|a| c.output_extent(a, hw[a], k[a]).is_some())
        })
}

fn case() -> impl Strategy<Value = Case> {
    (geometry(), dtype8(), dtype8(), any::<bool>(), any::<bool>())
        .prop_flat_map(|((g, cpg, mpg, n, hw, k, conv), data, weight, per_channel, with_bias)| {
            let (c, m) = (g * cpg, g * mpg);
            let nx = n * c * hw[0] * hw[1];
            let nw = c * mpg * k[0] * k[1];
            (
                (Just((g, cpg, mpg, n, hw, k, conv)), Just(data), Just(weight)),
                zero_point_of(data),
                prop::collection::vec(zero_point_of(weight), if per_channel { m } else { 1 }),
                prop::collection::vec(value_of(data), nx),
                prop::collection::vec(value_of(weight), nw),
                prop::collection::vec(-20_000i64..=20_000, m)
                    .prop_map(move |v| with_bias.then_some(v)),
                prop::collection::vec(1e-4f32..2e-3, if per_channel { m } else { 1 }),
            )
        })
        .prop_map(|(((g, cpg, mpg, n, hw, k, conv), data, weight), a, wzp, x, w, bias, scales)| {
            Case { n, g, cpg, mpg, hw, k, conv, data, weight, a, wzp, x, w, bias, scales }
        })
}

/// `qnn.conv2d_transpose → [add bias] → qnn.requantize` to u8, and the data.
fn build(c: &Case) -> (Graph, Tensor) {
    let (cin, m) = (c.g * c.cpg, c.g * c.mpg);
    let x = tensor(c.data, &[c.n, cin, c.hw[0], c.hw[1]], c.x.clone());
    let w = tensor(c.weight, &[cin, c.mpg, c.k[0], c.k[1]], c.w.clone());
    let kernel = if c.wzp.len() > 1 {
        QuantParams::per_axis(vec![0.01; m], c.wzp.clone(), 0)
    } else {
        QuantParams::per_tensor(0.01, c.wzp[0])
    };
    let mut b = GraphBuilder::new("convt");
    let xv = b.input("x", x.ty()).unwrap();
    let wv = b.constant("w", w).unwrap();
    let op = Op::QnnConv2dTranspose {
        conv: c.conv.clone(),
        input: QuantParams::per_tensor(0.02, c.a),
        kernel,
    };
    let mut y = b.node("convt", op, &[xv, wv]).unwrap();
    if let Some(bias) = &c.bias {
        let bv = b.constant("bias", tensor(DType::I32, &[m, 1, 1], bias.clone())).unwrap();
        y = b.node("biased", Op::Add, &[y, bv]).unwrap();
    }
    let input = if c.scales.len() > 1 {
        QuantParams::per_axis(c.scales.clone(), vec![0], 1)
    } else {
        QuantParams::per_tensor(c.scales[0], 0)
    };
    let op = Op::QnnRequantize {
        input,
        output: QuantParams::per_tensor(1.0, 128),
        rounding: Rounding::Float,
        out_dtype: DType::U8,
    };
    y = b.node("requant", op, &[y]).unwrap();
    b.output(y);
    (b.finish().unwrap(), x)
}

/// Whether the padding crops every cell of the zero-inserted input (refused, see below).
fn crops_everything(c: &Case) -> bool {
    (0..2).any(|a| {
        let reach = (c.conv.dilation[a] * (c.k[a] - 1)) as i64;
        let before = (c.conv.padding[a] as i64 - reach).max(0);
        let after = (c.conv.padding[a + 2] as i64 - reach - c.conv.output_padding[a] as i64).max(0);
        before + after >= (c.conv.strides[a] * (c.hw[a] - 1) + 1) as i64
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn both_lowerings_equal_the_scatter_formula(c in case()) {
        prop_assume!(!crops_everything(&c));
        let (g, x) = build(&c);
        let inputs = [x];
        let want = reference::run(&g, &inputs).expect("reference on the QNN graph");
        for backend in LEGALIZATIONS {
            for lowering in [Lowering::Int8ZeroPointTerms, Lowering::Int16Upcast] {
                if lowering == Lowering::Int8ZeroPointTerms && backend == "x86-avx2" {
                    continue; // no int8 candidate without a dot product
                }
                let l = check_exact(&g, &inputs, &want, backend, lowering);
                let strided = c.conv.strides != [1, 1];
                let dilates = l.graph.nodes.iter().any(|n| matches!(n.op, Op::Dilate { .. }));
                prop_assert!(!strided || dilates, "a strided transposed conv inserts cells");
                prop_assert!(l.explanation.other_ops.iter().any(|o| o.op.starts_with("qnn.conv2d_transpose")));
            }
        }
    }
}

/// A padding that removes every input row is refused with an error naming the node.
#[test]
fn padding_that_crops_every_row_is_refused() {
    let c = Case {
        n: 1,
        g: 1,
        cpg: 1,
        mpg: 1,
        hw: [1, 2],
        k: [1, 1],
        conv: ConvTranspose2dAttrs {
            strides: [2, 1],
            padding: [1, 0, 0, 0],
            output_padding: [1, 0],
            dilation: [1, 1],
            groups: 1,
        },
        data: DType::U8,
        weight: DType::I8,
        a: 3,
        wzp: vec![0],
        x: vec![1, 2],
        w: vec![5],
        bias: None,
        scales: vec![0.01],
    };
    assert!(crops_everything(&c));
    let (g, _) = build(&c);
    match legalize(&g, &only("x86-vnni"), &Capability) {
        Err(LegalizeError::Unsupported { node, what, .. }) => {
            assert_eq!(node, "convt");
            assert!(what.contains("removes every input row"), "{what}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
