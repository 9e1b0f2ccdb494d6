//! qnn.conv2d_transpose compiled: random transposed convs (strides, padding, output padding,
//! dilation, groups, zero points, per-channel parameters, NCHW data of odd sizes) equal the
//! reference on every usable backend and thread count; in the U-Net fixture the zero
//! insertion runs as an NHWC copy between kernel convs.

mod common;

use std::path::PathBuf;

use proptest::prelude::*;
use qnn_ir::*;
use qnn_runtime::{CompileOptions, Compiler, Exec};

fn tensor(dtype: DType, shape: &[usize], v: Vec<i64>) -> Tensor {
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).unwrap();
    Tensor::from_i64("t", dtype, a).unwrap()
}

#[derive(Debug, Clone)]
struct Case {
    g: usize,
    cpg: usize,
    mpg: usize,
    hw: [usize; 2],
    k: [usize; 2],
    conv: ConvTranspose2dAttrs,
    signed: bool,
    a: i32,
    wzp: Vec<i32>,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![(Just(1usize), 1usize..=5, 1usize..=5), (2usize..=3, 1usize..=3, 1usize..=2)],
        (1usize..=7, 1usize..=7),
        (1usize..=4, 1usize..=4),
        (1usize..=3, 1usize..=3, 1usize..=2),
        (0usize..=3, 0usize..=3, 0usize..=3, 0usize..=3),
        any::<bool>(),
        prop::sample::select(vec![0i32, 1, 127, 128, 255, -128, -1]),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(
                (g, cpg, mpg),
                (h, w),
                (kh, kw),
                (sh, sw, d),
                (pt, pl, pb, pr),
                signed,
                a,
                pc,
                seed,
            )| {
                let a = if signed { a.clamp(-128, 127) } else { a.clamp(0, 255) };
                let conv = ConvTranspose2dAttrs {
                    strides: [sh, sw],
                    padding: [pt, pl, pb, pr],
                    output_padding: [(pt + pb) % sh, (pl + pr) % sw],
                    dilation: [d, d],
                    groups: g,
                };
                let wzp = if pc {
                    (0..g * mpg).map(|m| (m as i32 * 37) % 11 - 5).collect()
                } else {
                    vec![0]
                };
                Case { g, cpg, mpg, hw: [h, w], k: [kh, kw], conv, signed, a, wzp, seed }
            },
        )
        .prop_filter("an output, and an input row left after the crop", |c| {
            (0..2).all(|a| {
                let reach = (c.conv.dilation[a] * (c.k[a] - 1)) as i64;
                let before = (c.conv.padding[a] as i64 - reach).max(0);
                let after =
                    (c.conv.padding[a + 2] as i64 - reach - c.conv.output_padding[a] as i64).max(0);
                let dilated = (c.conv.strides[a] * (c.hw[a] - 1) + 1) as i64;
                c.conv.output_extent(a, c.hw[a], c.k[a]).is_some() && before + after < dilated
            })
        })
}

/// `qnn.conv2d_transpose → add bias → qnn.requantize` to the data's dtype, and its input.
fn build(c: &Case) -> (Graph, Tensor) {
    let (cin, m) = (c.g * c.cpg, c.g * c.mpg);
    let mut state = c.seed | 1;
    let mut next = |lo: i64, hi: i64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        lo + (state % (hi - lo + 1) as u64) as i64
    };
    let dt = if c.signed { DType::I8 } else { DType::U8 };
    let (lo, hi) = dt.int_range().unwrap();
    let nx = 2 * cin * c.hw[0] * c.hw[1];
    let x = tensor(dt, &[2, cin, c.hw[0], c.hw[1]], (0..nx).map(|_| next(lo, hi)).collect());
    let nw = cin * c.mpg * c.k[0] * c.k[1];
    let w = tensor(
        DType::I8,
        &[cin, c.mpg, c.k[0], c.k[1]],
        (0..nw).map(|_| next(-128, 127)).collect(),
    );
    let bias = tensor(DType::I32, &[m, 1, 1], (0..m).map(|_| next(-5000, 5000)).collect());
    let kernel = if c.wzp.len() > 1 {
        QuantParams::per_axis(vec![0.01; m], c.wzp.clone(), 0)
    } else {
        QuantParams::per_tensor(0.01, 0)
    };
    let mut b = GraphBuilder::new("convt");
    let xv = b.input("x", x.ty()).unwrap();
    let wv = b.constant("w", w).unwrap();
    let bv = b.constant("bias", bias).unwrap();
    let op = Op::QnnConv2dTranspose {
        conv: c.conv.clone(),
        input: QuantParams::per_tensor(0.02, c.a),
        kernel,
    };
    let y = b.node("convt", op, &[xv, wv]).unwrap();
    let y = b.node("biased", Op::Add, &[y, bv]).unwrap();
    let scale = 1.0 / (8.0 * (c.cpg * c.k[0] * c.k[1]) as f32);
    let op = Op::QnnRequantize {
        input: QuantParams::per_tensor(scale, 0),
        output: QuantParams::per_tensor(1.0, if c.signed { 3 } else { 120 }),
        rounding: Rounding::Float,
        out_dtype: dt,
    };
    let y = b.node("requant", op, &[y]).unwrap();
    b.output(y);
    (b.finish().unwrap(), x)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn compiled_transposed_convs_equal_the_reference(c in case()) {
        let (g, x) = build(&c);
        let want = reference::run(&g, std::slice::from_ref(&x)).unwrap();
        for backend in common::usable_backends().into_iter().map(Some).chain([None]) {
            for threads in [1, 2, 3] {
                let opts = CompileOptions::new().backend(backend).threads(threads);
                let model = Compiler::new(opts).compile(&g).unwrap();
                let got = model.run(std::slice::from_ref(&x)).unwrap();
                prop_assert_eq!(&got, &want, "{:?} × {} threads", backend, threads);
            }
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "compiles a model")]
fn unet_zero_insertion_is_an_nhwc_copy_between_kernel_convs() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../qnn-onnx/tests/fixtures/ops/convt_unet_tiny_qdq_pc/model.onnx");
    let graph =
        qnn_onnx::Model::from_path(path).unwrap().import(&Default::default()).unwrap().graph;
    let compiled = Compiler::new(CompileOptions::new().threads(2)).compile(&graph).unwrap();
    let steps = &compiled.report().steps;
    let dilates: Vec<_> = steps.iter().filter(|s| s.op == "dilate").collect();
    assert_eq!(dilates.len(), 2, "{steps:#?}");
    for d in dilates {
        assert_eq!(d.exec, Exec::Fast, "{d:?}");
        assert!(d.output.ends_with(" NHWC"), "{d:?}");
    }
    let kernels = steps.iter().filter(|s| s.exec == Exec::Kernel).count();
    assert!(kernels >= 5, "five convs, two of them transposed, on kernels: {steps:#?}");
    let transposes = steps.iter().filter(|s| s.op.contains("transpose")).count();
    assert!(transposes <= 2, "one conversion at the input, one at the output: {steps:#?}");
}
