//! ARCHITECTURE.md §4, qnn.conv2d: for random shapes, attributes, dtypes and zero points,
//! both lowerings under every dtype legalization compute exactly the bits of the QNN graph
//! (bias add, requantize in every rounding mode, clip/relu included), and the pattern
//! matcher recognizes every form emitted as one fused op.

mod common;

use common::*;
use proptest::prelude::*;
use qnn_ir::*;
use qnn_legalize::{Lowering, match_fused_conv};

#[derive(Debug, Clone)]
struct Geometry {
    n: usize,
    g: usize,
    cpg: usize,
    opg: usize,
    h: usize,
    w: usize,
    r: usize,
    s: usize,
    strides: [usize; 2],
    dilation: [usize; 2],
    padding: [usize; 4],
}

impl Geometry {
    fn c(&self) -> usize {
        self.g * self.cpg
    }
    fn o(&self) -> usize {
        self.g * self.opg
    }
}

fn geometry() -> impl Strategy<Value = Geometry> {
    // (groups, C/G, O/G): ordinary, grouped, depthwise with channel multiplier ≥ 1.
    let groups = prop_oneof![
        (Just(1usize), 1usize..=4, 1usize..=4),
        (2usize..=3, 1usize..=3, 1usize..=3),
        (2usize..=4, Just(1usize), 1usize..=3),
    ];
    (
        groups,
        1usize..=2,
        (1usize..=3, 1usize..=3),
        (1usize..=2, 1usize..=2),
        (1usize..=2, 1usize..=2),
        (0usize..=3, 0usize..=3, 0usize..=3, 0usize..=3),
        (0usize..=3, 0usize..=3),
    )
        .prop_map(
            |((g, cpg, opg), n, (r, s), (sh, sw), (dh, dw), (pt, pl, pb, pr), (eh, ew))| {
                let span = |k: usize, d: usize| d * (k - 1) + 1;
                Geometry {
                    n,
                    g,
                    cpg,
                    opg,
                    h: span(r, dh).saturating_sub(pt + pb).max(1) + eh,
                    w: span(s, dw).saturating_sub(pl + pr).max(1) + ew,
                    r,
                    s,
                    strides: [sh, sw],
                    dilation: [dh, dw],
                    padding: [pt, pl, pb, pr],
                }
            },
        )
}

#[derive(Debug, Clone)]
struct ConvCase {
    geo: Geometry,
    data: DType,
    weight: DType,
    layout: DataLayout,
    klayout: KernelLayout,
    a: i32,
    /// One zero point, or one per output channel.
    wzp: Vec<i32>,
    /// NCHW values.
    x: Vec<i64>,
    /// OIHW values.
    wts: Vec<i64>,
    bias: Option<Vec<i64>>,
    rounding: Rounding,
    out: DType,
    out_zp: i32,
    out_scale: f32,
    /// Requantize input scales: one, or one per output channel.
    in_scales: Vec<f32>,
    /// 0: none, 1: qnn.relu, 2: qnn.clip.
    activation: u8,
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    (
        geometry(),
        dtype8(),
        dtype8(),
        prop::sample::select(vec![DataLayout::Nchw, DataLayout::Nhwc]),
        prop::sample::select(vec![KernelLayout::Oihw, KernelLayout::Ohwi, KernelLayout::Hwio]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(
            |(geo, data, weight, layout, klayout, per_channel_zp, per_channel_scale, with_bias)| {
                let (c, o) = (geo.c(), geo.o());
                let nx = geo.n * c * geo.h * geo.w;
                let nw = o * geo.cpg * geo.r * geo.s;
                let nzp = if per_channel_zp { o } else { 1 };
                let nsc = if per_channel_scale { o } else { 1 };
                let out = prop::sample::select(vec![DType::U8, DType::I8, DType::I16, DType::I32]);
                (
                    (Just(geo), Just(data), Just(weight), Just(layout), Just(klayout)),
                    zero_point_of(data),
                    prop::collection::vec(zero_point_of(weight), nzp),
                    prop::collection::vec(value_of(data), nx),
                    prop::collection::vec(value_of(weight), nw),
                    prop::collection::vec(-20_000i64..=20_000, o)
                        .prop_map(move |v| with_bias.then_some(v)),
                    prop::sample::select(Rounding::ALL.to_vec()),
                    out.prop_flat_map(|d| (Just(d), zero_point_of(d))),
                    1e-3f32..2.0,
                    prop::collection::vec(1e-4f32..1e-1, nsc),
                    0u8..=2,
                )
            },
        )
        .prop_map(
            |(
                (geo, data, weight, layout, klayout),
                a,
                wzp,
                x,
                wts,
                bias,
                rounding,
                (out, out_zp),
                out_scale,
                in_scales,
                activation,
            )| {
                ConvCase {
                    geo,
                    data,
                    weight,
                    layout,
                    klayout,
                    a,
                    wzp,
                    x,
                    wts,
                    bias,
                    rounding,
                    out,
                    out_zp,
                    out_scale,
                    in_scales,
                    activation,
                }
            },
        )
}

/// The QNN graph of a case: `qnn.conv2d → [add bias] → qnn.requantize → [qnn.relu|qnn.clip]`,
/// and its input.
fn build(c: &ConvCase) -> (Graph, Tensor) {
    let (g, x, _) = build_with(c, false);
    (g, x)
}

/// The case's QNN graph with the weights a constant or, `dynamic`, a second graph input (as
/// when they are computed at run time); its input(s): the data, and the weights.
fn build_with(c: &ConvCase, dynamic: bool) -> (Graph, Tensor, Tensor) {
    let g = &c.geo;
    let (cin, o) = (g.c(), g.o());
    let nchw = tensor(c.data, &[g.n, cin, g.h, g.w], c.x.clone());
    let x = match c.layout {
        DataLayout::Nchw => nchw,
        DataLayout::Nhwc => permute(&nchw, &[0, 2, 3, 1]),
    };
    let oihw = tensor(c.weight, &[o, g.cpg, g.r, g.s], c.wts.clone());
    let w = match c.klayout {
        KernelLayout::Oihw => oihw,
        KernelLayout::Ohwi => permute(&oihw, &[0, 2, 3, 1]),
        KernelLayout::Hwio => permute(&oihw, &[2, 3, 1, 0]),
    };
    let conv = Conv2dAttrs {
        strides: g.strides,
        padding: g.padding,
        dilation: g.dilation,
        groups: g.g,
        data_layout: c.layout,
        kernel_layout: c.klayout,
    };
    let kernel = if c.wzp.len() > 1 {
        QuantParams::per_axis(vec![0.01; o], c.wzp.clone(), c.klayout.output_axis())
    } else {
        QuantParams::per_tensor(0.01, c.wzp[0])
    };
    let mut b = GraphBuilder::new("conv");
    let xv = b.input("x", x.ty()).unwrap();
    let wv =
        if dynamic { b.input("w", w.ty()).unwrap() } else { b.constant("w", w.clone()).unwrap() };
    let mut y = b
        .node(
            "conv",
            Op::QnnConv2d { conv, input: QuantParams::per_tensor(0.02, c.a), kernel },
            &[xv, wv],
        )
        .unwrap();
    let ch_axis = c.layout.channel_axis();
    if let Some(bias) = &c.bias {
        let shape = if c.layout == DataLayout::Nchw { vec![o, 1, 1] } else { vec![o] };
        let bv = b.constant("bias", tensor(DType::I32, &shape, bias.clone())).unwrap();
        y = b.node("biased", Op::Add, &[y, bv]).unwrap();
    }
    let input = if c.in_scales.len() > 1 {
        QuantParams::per_axis(c.in_scales.clone(), vec![0], ch_axis)
    } else {
        QuantParams::per_tensor(c.in_scales[0], 0)
    };
    let output = QuantParams::per_tensor(c.out_scale, c.out_zp);
    y = b
        .node(
            "requant",
            Op::QnnRequantize {
                input,
                output: output.clone(),
                rounding: c.rounding,
                out_dtype: c.out,
            },
            &[y],
        )
        .unwrap();
    if c.out.is_8bit() {
        y = match c.activation {
            1 => b.node("relu", Op::QnnRelu { q: output }, &[y]).unwrap(),
            2 => b.node("clip", Op::QnnClip { min: -1.0, max: 3.0, q: output }, &[y]).unwrap(),
            _ => y,
        };
    }
    b.output(y);
    (b.finish().unwrap(), x, w)
}

fn permute(t: &Tensor, perm: &[usize]) -> Tensor {
    let a = t.to_i64().unwrap().permuted_axes(perm.to_vec()).as_standard_layout().into_owned();
    Tensor::from_i64("permute", t.dtype(), a).unwrap()
}

/// Runs every legalization of a case and checks bits and the fused pattern.
fn check_case(c: &ConvCase) {
    let (g, x) = build(c);
    let inputs = [x];
    let want = reference::run(&g, &inputs).expect("reference on the QNN graph");
    let runs = LEGALIZATIONS
        .iter()
        .map(|b| (*b, Lowering::Int8ZeroPointTerms))
        .chain([("x86-avx2", Lowering::Int16Upcast)]);
    for (backend, lowering) in runs {
        let l = check_exact(&g, &inputs, &want, backend, lowering);
        let convs = conv_nodes(&l.graph);
        assert_eq!(convs.len(), 1);
        let f = match_fused_conv(&l.graph, convs[0]).expect("the canonical form is recognized");
        let rep = &l.explanation.ops[0];
        assert_eq!(f.lowering, lowering);
        assert_eq!(
            f.nodes.len(),
            l.graph.nodes.len(),
            "{backend} {lowering}: not all fused: {:?}",
            l.graph.nodes
        );
        assert_eq!((f.input, f.output), (l.graph.inputs[0], l.graph.outputs[0]));
        assert_eq!(f.operand_dtype.to_string(), rep.operands[0]);
        assert_eq!(f.weight_dtype.to_string(), rep.operands[1]);
        assert_eq!(f.weight_zero_points.is_some(), rep.t3);
        assert!(f.requantize.is_some());
        assert_eq!(f.clip.is_some(), c.out.is_8bit() && c.activation != 0);
        match lowering {
            Lowering::Int16Upcast => {
                assert_eq!((f.input_offset, f.pad_value), (-c.a, 0));
            }
            Lowering::Int8ZeroPointTerms => {
                let shift = rep.data_shift as i32;
                assert_eq!((f.input_offset, f.pad_value), (shift, c.a + shift));
                if let Some(wk) = &f.weight_zero_points {
                    let o = c.geo.o();
                    let expect: Vec<i32> = (0..o)
                        .map(|k| {
                            c.wzp[if c.wzp.len() > 1 { k } else { 0 }] + rep.weight_shift as i32
                        })
                        .collect();
                    assert_eq!(wk, &expect);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config(512))]
    #[test]
    fn conv2d_lowerings_are_exact(c in conv_case()) {
        check_case(&c);
    }
}

/// Padding at least as large as the kernel (legal for a conv, not for pool2d): the T3 window
/// sums go through an explicit `pad`.
#[test]
fn padding_larger_than_the_kernel() {
    for layout in [DataLayout::Nchw, DataLayout::Nhwc] {
        let geo = Geometry {
            n: 1,
            g: 2,
            cpg: 2,
            opg: 2,
            h: 3,
            w: 2,
            r: 1,
            s: 2,
            strides: [1, 2],
            dilation: [1, 1],
            padding: [2, 0, 1, 3],
        };
        let (c, o) = (geo.c(), geo.o());
        let case = ConvCase {
            x: (0..(c * 6) as i64).map(|v| (v * 37) % 256).collect(),
            wts: (0..(o * 2 * 2) as i64).map(|v| (v * 53) % 256 - 128).collect(),
            geo,
            data: DType::U8,
            weight: DType::I8,
            layout,
            klayout: KernelLayout::Hwio,
            a: 255,
            wzp: vec![3, -128, 0, 127],
            bias: Some(vec![1, -2, 3, -4]),
            rounding: Rounding::Tflite,
            out: DType::I8,
            out_zp: -3,
            out_scale: 0.7,
            in_scales: vec![0.01, 0.02, 0.03, 0.04],
            activation: 2,
        };
        check_case(&case);
    }
}

proptest! {
    #![proptest_config(config(128))]
    /// Weights computed at run time: the int16 upcast with both operands prepared at run time,
    /// exact.
    #[test]
    fn conv2d_with_weights_computed_at_run_time_is_exact(c in conv_case()) {
        let (g, x, w) = build_with(&c, true);
        check_dynamic(&g, &[x, w]);
    }
}
