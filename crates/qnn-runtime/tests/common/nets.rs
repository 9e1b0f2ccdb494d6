//! Test networks as an importer produces them (NCHW, the QNN dialect).
#![allow(dead_code)]

use qnn_ir::*;

use super::{f32_tensor, tensor, values};

fn conv(groups: usize, stride: usize, pad: usize) -> Conv2dAttrs {
    Conv2dAttrs { strides: [stride, stride], padding: [pad; 4], groups, ..Conv2dAttrs::default() }
}

fn requant(
    b: &mut GraphBuilder,
    name: &str,
    y: ValueId,
    input: QuantParams,
    output: QuantParams,
    rounding: Rounding,
) -> ValueId {
    b.node(name, Op::QnnRequantize { input, output, rounding, out_dtype: DType::U8 }, &[y]).unwrap()
}

/// The input of [`small_convnet`]: f32 `[1, 3, 16, 16]`.
pub fn small_convnet_input(seed: u64) -> Tensor {
    f32_tensor(&[1, 3, 16, 16], seed, -2.5, 2.7)
}

/// `x: f32[1,3,16,16]` → quantize (u8, zp 128) → conv1 (3→8, 3×3 s2, per-channel
/// symmetric i8 weights, bias, float requantize, clip [0, 6]) → dw (depthwise 3×3 on u8
/// weights with zero point 128: T3) → pw (1×1 8→8, per-channel nonzero weight zero points:
/// T3) → qnn.add with conv1's output (float) → max pool 2×2 → global average pool →
/// flatten → fc (8→10, bias) → requantize to i8 → dequantize → f32 logits.
pub fn small_convnet() -> Graph {
    let mut b = GraphBuilder::new("small_convnet");
    let x = b.input("x", TensorType::new(DType::F32, [1, 3, 16, 16])).unwrap();
    let q_in = QuantParams::per_tensor(0.02, 128);
    let act = QuantParams::per_tensor(0.05, 0);
    let xq = b
        .node("quant", Op::QnnQuantize { output: q_in.clone(), out_dtype: DType::U8 }, &[x])
        .unwrap();

    let w1 = b
        .constant("conv1.weight", tensor(DType::I8, &[8, 3, 3, 3], values(216, 1, -127, 127)))
        .unwrap();
    let s1: Vec<f32> = (0..8).map(|k| 0.01 + 0.001 * k as f32).collect();
    let k1 = QuantParams::per_axis(s1.clone(), vec![0], 0);
    let y = b
        .node(
            "conv1",
            Op::QnnConv2d { conv: conv(1, 2, 1), input: q_in.clone(), kernel: k1 },
            &[xq, w1],
        )
        .unwrap();
    let b1 =
        b.constant("conv1.bias", tensor(DType::I32, &[8, 1, 1], values(8, 2, -500, 500))).unwrap();
    let y = b.node("conv1.biased", Op::Add, &[y, b1]).unwrap();
    let acc1 = QuantParams::per_axis(s1.iter().map(|s| s * 0.02).collect(), vec![0], 1);
    let y = requant(&mut b, "conv1.requant", y, acc1, act.clone(), Rounding::Float);
    let c1 =
        b.node("conv1.clip", Op::QnnClip { min: 0.0, max: 6.0, q: act.clone() }, &[y]).unwrap();

    let w2 =
        b.constant("dw.weight", tensor(DType::U8, &[8, 1, 3, 3], values(72, 3, 0, 255))).unwrap();
    let y = b
        .node(
            "dw",
            Op::QnnConv2d {
                conv: conv(8, 1, 1),
                input: act.clone(),
                kernel: QuantParams::per_tensor(0.02, 128),
            },
            &[c1, w2],
        )
        .unwrap();
    let y = requant(
        &mut b,
        "dw.requant",
        y,
        QuantParams::per_tensor(1e-3, 0),
        act.clone(),
        Rounding::Upward,
    );

    let w3 = b
        .constant("pw.weight", tensor(DType::I8, &[8, 8, 1, 1], values(64, 4, -128, 127)))
        .unwrap();
    let zps: Vec<i32> = values(8, 5, -3, 3).into_iter().map(|v| v as i32).collect();
    let k3 = QuantParams::per_axis(vec![0.01; 8], zps, 0);
    let y = b
        .node("pw", Op::QnnConv2d { conv: conv(1, 1, 0), input: act.clone(), kernel: k3 }, &[y, w3])
        .unwrap();
    let y = requant(
        &mut b,
        "pw.requant",
        y,
        QuantParams::per_tensor(5e-4, 0),
        act.clone(),
        Rounding::ToNearest,
    );

    let sum_q = QuantParams::per_tensor(0.06, 3);
    let y = b
        .node(
            "residual",
            Op::QnnAdd {
                lhs: act.clone(),
                rhs: act.clone(),
                output: sum_q.clone(),
                rounding: Rounding::Float,
                out_dtype: DType::U8,
            },
            &[c1, y],
        )
        .unwrap();
    let pool = Pool2dAttrs {
        kernel: [2, 2],
        strides: [2, 2],
        padding: [0; 4],
        dilation: [1, 1],
        layout: DataLayout::Nchw,
    };
    let y = b.node("maxpool", Op::QnnMaxPool2d { pool }, &[y]).unwrap();
    let y = b
        .node(
            "gap",
            Op::QnnGlobalAvgPool2d {
                layout: DataLayout::Nchw,
                input: sum_q.clone(),
                output: act.clone(),
                rounding: Rounding::Float,
                out_dtype: DType::U8,
            },
            &[y],
        )
        .unwrap();
    let y = b.node("flatten", Op::Reshape { shape: vec![1, 8] }, &[y]).unwrap();
    let w4 =
        b.constant("fc.weight", tensor(DType::I8, &[10, 8], values(80, 6, -127, 127))).unwrap();
    let y = b
        .node(
            "fc",
            Op::QnnDense { input: act.clone(), kernel: QuantParams::per_tensor(0.02, 0) },
            &[y, w4],
        )
        .unwrap();
    let b4 = b.constant("fc.bias", tensor(DType::I32, &[10], values(10, 8, -1000, 1000))).unwrap();
    let y = b.node("fc.biased", Op::Add, &[y, b4]).unwrap();
    let out = QuantParams::per_tensor(0.1, -10);
    let y = b
        .node(
            "logits.q",
            Op::QnnRequantize {
                input: QuantParams::per_tensor(1e-3, 0),
                output: out.clone(),
                rounding: Rounding::Float,
                out_dtype: DType::I8,
            },
            &[y],
        )
        .unwrap();
    let y = b.node("logits", Op::QnnDequantize { input: out }, &[y]).unwrap();
    b.output(y);
    b.finish().unwrap()
}
