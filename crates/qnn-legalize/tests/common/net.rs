//! A small quantized conv network, as an importer would produce it: conv → bias → requantize
//! → relu, a depthwise conv on u8 weights with zero point 128, a pointwise conv with
//! per-channel asymmetric weights, global average pooling and a dense classifier.
#![allow(dead_code)]

use qnn_ir::*;

/// Deterministic pseudo-random values in `[lo, hi]`.
fn values(n: usize, seed: u64, lo: i64, hi: i64) -> Vec<i64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lo + ((s >> 33) % (hi - lo + 1) as u64) as i64
        })
        .collect()
}

fn t(dtype: DType, shape: &[usize], v: Vec<i64>) -> Tensor {
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).unwrap();
    Tensor::from_i64("net", dtype, a).unwrap()
}

/// The input of [`small_net`].
pub fn small_net_input() -> Tensor {
    t(DType::U8, &[1, 3, 16, 16], values(3 * 256, 7, 0, 255))
}

/// `x: u8[1,3,16,16]` (NCHW) → conv1 (3→8, 3×3, stride 2) → dw (depthwise 3×3, u8 weights,
/// zero point 128) → pw (1×1, 8→16, per-channel zero points) → global average pool → fc
/// (16→10).
pub fn small_net() -> Graph {
    let mut b = GraphBuilder::new("small_net");
    let x = b.input("x", TensorType::new(DType::U8, [1, 3, 16, 16])).unwrap();
    let conv = |groups, stride, pad| Conv2dAttrs {
        strides: [stride, stride],
        padding: [pad; 4],
        groups,
        ..Conv2dAttrs::default()
    };
    let rq = |b: &mut GraphBuilder, name: &str, y, scales: Vec<f32>, out: QuantParams| {
        let input = QuantParams::per_axis(scales, vec![0], 1);
        b.node(
            name,
            Op::QnnRequantize {
                input,
                output: out,
                rounding: Rounding::Upward,
                out_dtype: DType::U8,
            },
            &[y],
        )
        .unwrap()
    };
    let act = QuantParams::per_tensor(0.05, 0);

    // conv1: symmetric int8 weights, data zero point 128, bias, relu.
    let w1 =
        b.constant("conv1.weight", t(DType::I8, &[8, 3, 3, 3], values(216, 1, -127, 127))).unwrap();
    let k1 = QuantParams::per_axis((0..8).map(|k| 0.01 + 0.001 * k as f32).collect(), vec![0], 0);
    let y = b
        .node(
            "conv1",
            Op::QnnConv2d {
                conv: conv(1, 2, 1),
                input: QuantParams::per_tensor(0.02, 128),
                kernel: k1,
            },
            &[x, w1],
        )
        .unwrap();
    let b1 = b.constant("conv1.bias", t(DType::I32, &[8, 1, 1], values(8, 2, -500, 500))).unwrap();
    let y = b.node("conv1.biased", Op::Add, &[y, b1]).unwrap();
    let y = rq(&mut b, "conv1.requant", y, vec![2e-4; 8], act.clone());
    let y = b.node("conv1.relu", Op::QnnRelu { q: act.clone() }, &[y]).unwrap();

    // dw: depthwise on u8 weights with zero point 128 (asymmetric: T3 under int8 terms).
    let w2 = b.constant("dw.weight", t(DType::U8, &[8, 1, 3, 3], values(72, 3, 0, 255))).unwrap();
    let y = b
        .node(
            "dw",
            Op::QnnConv2d {
                conv: conv(8, 1, 1),
                input: act.clone(),
                kernel: QuantParams::per_tensor(0.02, 128),
            },
            &[y, w2],
        )
        .unwrap();
    let y = rq(&mut b, "dw.requant", y, vec![1e-3; 8], act.clone());
    let y = b.node("dw.clip", Op::QnnClip { min: 0.0, max: 6.0, q: act.clone() }, &[y]).unwrap();

    // pw: 1×1, per-channel nonzero weight zero points.
    let w3 =
        b.constant("pw.weight", t(DType::I8, &[16, 8, 1, 1], values(128, 4, -128, 127))).unwrap();
    let zps: Vec<i32> = values(16, 5, -3, 3).into_iter().map(|v| v as i32).collect();
    let k3 = QuantParams::per_axis(vec![0.01; 16], zps, 0);
    let y = b
        .node("pw", Op::QnnConv2d { conv: conv(1, 1, 0), input: act.clone(), kernel: k3 }, &[y, w3])
        .unwrap();
    let y = rq(&mut b, "pw.requant", y, vec![5e-4; 16], act.clone());

    // Global average pool, flatten, dense.
    let y = b
        .node(
            "gap",
            Op::QnnGlobalAvgPool2d {
                layout: DataLayout::Nchw,
                input: act.clone(),
                output: act.clone(),
                rounding: Rounding::Upward,
                out_dtype: DType::U8,
            },
            &[y],
        )
        .unwrap();
    let y = b.node("flatten", Op::Reshape { shape: vec![1, 16] }, &[y]).unwrap();
    let w4 = b.constant("fc.weight", t(DType::I8, &[10, 16], values(160, 6, -127, 127))).unwrap();
    let y = b
        .node(
            "fc",
            Op::QnnDense { input: act.clone(), kernel: QuantParams::per_tensor(0.02, 0) },
            &[y, w4],
        )
        .unwrap();
    let b4 = b.constant("fc.bias", t(DType::I32, &[10], values(10, 8, -1000, 1000))).unwrap();
    let y = b.node("fc.biased", Op::Add, &[y, b4]).unwrap();
    let out = QuantParams::per_tensor(0.1, -10);
    let y = b
        .node(
            "logits",
            Op::QnnRequantize {
                input: QuantParams::per_tensor(1e-3, 0),
                output: out,
                rounding: Rounding::Float,
                out_dtype: DType::I8,
            },
            &[y],
        )
        .unwrap();
    b.output(y);
    b.finish().unwrap()
}
