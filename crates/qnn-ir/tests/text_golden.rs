//! Golden files of printed IR (`tests/golden/*.qnn`), compared exactly.
//! `QNN_BLESS=1 cargo test -p qnn-ir --test text_golden` rewrites them after a deliberate
//! change of the text form; review the diff.

mod text_common;

use std::path::PathBuf;

use qnn_ir::text::{parse, print};
use qnn_ir::{
    DType, DataLayout, FixedPointMultiplier, FixedRounding, Graph, KernelLayout, Op, PoolKind,
    QuantParams, RequantScale, Rounding, Tensor,
};
use text_common::*;

fn check_golden(file: &str, g: &Graph) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file);
    let text = print(g);
    if std::env::var_os("QNN_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with QNN_BLESS=1 to create it", path.display()));
    assert!(
        golden == text,
        "{} differs from the printed graph; run with QNN_BLESS=1 to rewrite it.\n--- golden\n{golden}\n--- printed\n{text}",
        path.display()
    );
    // The golden text is also a valid program: it parses, verifies and gives the graph back.
    assert_eq!(&parse(&golden).unwrap_or_else(|e| panic!("{file}: {e}")), g);
}

/// A small quantized CNN in the QNN dialect, as an importer would produce it:
/// quantize → conv (per-channel weights) + bias → requantize → relu → max pool → global
/// average pool → dense → dequantize.
fn qconv_net() -> Graph {
    use DType::*;
    let mut g = G::new("qconv_net");
    let image = g.input("image", F32, &[1, 3, 8, 8]);
    let w = g.constant("conv1.weight", ramp(I8, &[4, 3, 3, 3]));
    let b =
        g.constant("conv1.bias", Tensor::from_vec(&[4, 1, 1], vec![-300, 0, 125, 4000]).unwrap());
    let s_in = 1.0 / 128.0;
    let k_scales = vec![0.002, 0.003, 0.0025, 0.004];
    let op = Op::QnnQuantize { output: qt(s_in, 128), out_dtype: U8 };
    let q = g.node("image.q", op, &[image], U8, &[1, 3, 8, 8]);
    let op = Op::QnnConv2d {
        conv: conv([1, 1], [1, 1, 1, 1], [1, 1], 1, DataLayout::Nchw, KernelLayout::Oihw),
        input: qt(s_in, 128),
        kernel: QuantParams::per_axis(k_scales.clone(), vec![0], 0),
    };
    let acc = g.node("conv1", op, &[q, w], I32, &[1, 4, 8, 8]);
    let acc = g.node("conv1.biased", Op::Add, &[acc, b], I32, &[1, 4, 8, 8]);
    let acc_q = QuantParams::per_axis(k_scales.iter().map(|k| k * s_in).collect(), vec![0], 1);
    let act = qt(0.02, 10);
    let op = Op::QnnRequantize {
        input: acc_q,
        output: act.clone(),
        rounding: Rounding::ToNearest,
        out_dtype: U8,
    };
    let y = g.node("conv1.out", op, &[acc], U8, &[1, 4, 8, 8]);
    let y = g.node("relu1", Op::QnnRelu { q: act.clone() }, &[y], U8, &[1, 4, 8, 8]);
    let op = Op::QnnMaxPool2d { pool: pool([2, 2], [2, 2], [0; 4], [1, 1], DataLayout::Nchw) };
    let y = g.node("pool1", op, &[y], U8, &[1, 4, 4, 4]);
    let op = Op::QnnGlobalAvgPool2d {
        layout: DataLayout::Nchw,
        input: act.clone(),
        output: act.clone(),
        rounding: Rounding::ToNearest,
        out_dtype: U8,
    };
    let y = g.node("gap", op, &[y], U8, &[1, 4, 1, 1]);
    let y = g.node("flat", Op::Reshape { shape: vec![1, 4] }, &[y], U8, &[1, 4]);
    let fw = g.constant("fc.weight", ramp(I8, &[2, 4]));
    let op = Op::QnnDense { input: act, kernel: qt(0.01, 0) };
    let y = g.node("fc", op, &[y, fw], I32, &[1, 2]);
    let op = Op::QnnDequantize { input: qt(0.02 * 0.01, 0) };
    let logits = g.node("logits", op, &[y], F32, &[1, 2]);
    g.finish(&[logits])
}

/// A depthwise qnn.conv2d lowered by `Int16Upcast`: subtract the zero point, then an exact
/// i16 convolution, bias, fixed-point requantize per channel.
fn lowered_int16() -> Graph {
    use DType::*;
    let mut g = G::new("lowered_int16");
    let x = g.input("x", U8, &[1, 6, 6, 4]);
    let zp = g.constant("x.zp", Tensor::from_vec(&[], vec![128i16]).unwrap());
    let w = g.constant("w", ramp(I16, &[3, 3, 1, 4]));
    let b = g.constant("bias", Tensor::from_vec(&[4], vec![7, -7, 700, -70_000]).unwrap());
    let x16 = g.node("x.i16", Op::Cast { to: I16 }, &[x], I16, &[1, 6, 6, 4]);
    let xc = g.node("x.centered", Op::Subtract, &[x16, zp], I16, &[1, 6, 6, 4]);
    let op = Op::Conv2d {
        conv: conv([1, 1], [1, 1, 1, 1], [1, 1], 4, DataLayout::Nhwc, KernelLayout::Hwio),
        pad_value: 0,
    };
    let acc = g.node("acc", op, &[xc, w], I32, &[1, 6, 6, 4]);
    let acc = g.node("acc.biased", Op::Add, &[acc, b], I32, &[1, 6, 6, 4]);
    let mults = [(1518500250, -5), (1073741824, -4), (1288490189, -6), (2147483647, -7)]
        .map(|(multiplier, shift)| FixedPointMultiplier { multiplier, shift })
        .to_vec();
    let op = Op::Requantize {
        scale: RequantScale::Fixed { mults, rounding: FixedRounding::ToNearest },
        axes: vec![3],
        input_zero_point: 0,
        output_zero_point: 5,
        out_dtype: U8,
    };
    let y = g.node("y", op, &[acc], U8, &[1, 6, 6, 4]);
    g.finish(&[y])
}

/// A qnn.conv2d lowered by `Int8ZeroPointCorrection`: the raw u8×i8 convolution (padding
/// holds the data zero point) plus the correction terms
/// `− zp_w · Σ_window x − zp_x · Σ w + K · zp_x · zp_w`, then ONNX Runtime's float requantize.
fn lowered_int8() -> Graph {
    use DType::*;
    let mut g = G::new("lowered_int8");
    let x = g.input("x", U8, &[1, 3, 5, 5]);
    let w = g.constant("w", ramp(I8, &[2, 3, 3, 3]));
    let (zp_x, zp_w, k) = (128, 3, 27);
    let w_sums: Vec<i32> = {
        let t = ramp(I8, &[2, 3, 3, 3]);
        let a = t.as_array::<i8>().unwrap();
        a.outer_iter().map(|o| o.iter().map(|&v| i32::from(v)).sum()).collect()
    };
    let corr: Vec<i32> = w_sums.iter().map(|s| -zp_x * s + k * zp_x * zp_w).collect();
    let corr = g.constant("w.correction", Tensor::from_vec(&[1, 2, 1, 1], corr).unwrap());
    let neg_zp_w = g.constant("neg_zp_w", Tensor::from_vec(&[], vec![-zp_w]).unwrap());
    let op = Op::Conv2d {
        conv: conv([1, 1], [0; 4], [1, 1], 1, DataLayout::Nchw, KernelLayout::Oihw),
        pad_value: zp_x,
    };
    let acc = g.node("acc", op, &[x, w], I32, &[1, 2, 3, 3]);
    let op = Op::Pool2d {
        kind: PoolKind::Sum,
        pool: pool([3, 3], [1, 1], [0; 4], [1, 1], DataLayout::Nchw),
        pad_value: zp_x,
    };
    let xs = g.node("x.window_sum", op, &[x], I32, &[1, 3, 3, 3]);
    let xs = g.node("x.sum", Op::Sum { axes: vec![1], keepdims: true }, &[xs], I32, &[1, 1, 3, 3]);
    let xs = g.node("x.term", Op::Multiply, &[xs, neg_zp_w], I32, &[1, 1, 3, 3]);
    let acc = g.node("acc.x", Op::Add, &[acc, xs], I32, &[1, 2, 3, 3]);
    let acc = g.node("acc.corrected", Op::Add, &[acc, corr], I32, &[1, 2, 3, 3]);
    let op = Op::Requantize {
        scale: RequantScale::Float { mults: vec![0.0015, 0.00225] },
        axes: vec![1],
        input_zero_point: 0,
        output_zero_point: -3,
        out_dtype: I8,
    };
    let y = g.node("y", op, &[acc], I8, &[1, 2, 3, 3]);
    g.finish(&[y])
}

#[test]
fn qconv_net_golden() {
    check_golden("qconv_net.qnn", &qconv_net());
}

#[test]
fn lowered_int16_golden() {
    check_golden("lowered_int16.qnn", &lowered_int16());
}

#[test]
fn lowered_int8_golden() {
    check_golden("lowered_int8.qnn", &lowered_int8());
}
