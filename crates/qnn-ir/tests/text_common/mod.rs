//! Graphs for the text-form tests: one per op family, covering every attribute of every op,
//! both data layouts, every kernel layout, per-axis parameters and both requantize forms.
//! Types are written out by hand (and checked by `Graph::verify`, i.e. inference, in the
//! round-trip tests), so a graph here is also a worked example of each op's typing.

#![allow(dead_code)]

use std::sync::Arc;

use qnn_ir::{
    Conv2dAttrs, DType, DataLayout, FixedPointMultiplier, FixedRounding, Graph, KernelLayout, Node,
    Op, Pool2dAttrs, PoolKind, QuantParams, RequantScale, Rounding, Tensor, TensorType, Value,
    ValueDef, ValueId,
};

/// Property-test case count: `QNN_PROPTEST_CASES` when set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("QNN_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Builds a graph without inference: every node's output type is given.
pub struct G(pub Graph);

impl G {
    pub fn new(name: &str) -> G {
        G(Graph { name: name.into(), ..Graph::default() })
    }

    fn push(&mut self, name: &str, ty: TensorType, def: ValueDef) -> ValueId {
        let id = ValueId(self.0.values.len() as u32);
        self.0.values.push(Value { name: name.into(), ty, def });
        id
    }

    pub fn input(&mut self, name: &str, dtype: DType, shape: &[usize]) -> ValueId {
        let id = self.push(name, TensorType::new(dtype, shape), ValueDef::Input);
        self.0.inputs.push(id);
        id
    }

    pub fn constant(&mut self, name: &str, t: Tensor) -> ValueId {
        self.push(name, t.ty(), ValueDef::Const(Arc::new(t)))
    }

    pub fn node(
        &mut self,
        name: &str,
        op: Op,
        inputs: &[ValueId],
        dtype: DType,
        shape: &[usize],
    ) -> ValueId {
        let def = ValueDef::Node(self.0.nodes.len());
        let id = self.push(name, TensorType::new(dtype, shape), def);
        self.0.nodes.push(Node { name: name.into(), op, inputs: inputs.to_vec(), output: id });
        id
    }

    pub fn finish(mut self, outputs: &[ValueId]) -> Graph {
        self.0.outputs = outputs.to_vec();
        self.0
    }
}

/// A deterministic tensor of `dtype` whose elements sweep the dtype's range.
pub fn ramp(dtype: DType, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let k = |i: usize| (i as i64 * 37 + 11) % 251;
    match dtype {
        DType::U8 => Tensor::from_vec(shape, (0..n).map(|i| k(i) as u8).collect()),
        DType::I8 => Tensor::from_vec(shape, (0..n).map(|i| (k(i) - 128) as i8).collect()),
        DType::I16 => {
            Tensor::from_vec(shape, (0..n).map(|i| (k(i) * 131 - 16000) as i16).collect())
        }
        DType::I32 => {
            Tensor::from_vec(shape, (0..n).map(|i| (k(i) - 125) as i32 * 100_003).collect())
        }
        DType::F32 => {
            Tensor::from_vec(shape, (0..n).map(|i| (k(i) as f32 - 125.0) / 64.0).collect())
        }
    }
    .expect("shape and data agree")
}

pub fn qt(scale: f32, zero_point: i32) -> QuantParams {
    QuantParams::per_tensor(scale, zero_point)
}

pub fn conv(
    strides: [usize; 2],
    padding: [usize; 4],
    dilation: [usize; 2],
    groups: usize,
    data_layout: DataLayout,
    kernel_layout: KernelLayout,
) -> Conv2dAttrs {
    Conv2dAttrs { strides, padding, dilation, groups, data_layout, kernel_layout }
}

pub fn pool(
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: [usize; 4],
    dilation: [usize; 2],
    layout: DataLayout,
) -> Pool2dAttrs {
    Pool2dAttrs { kernel, strides, padding, dilation, layout }
}

/// qnn.quantize / dequantize / requantize in every rounding mode, per tensor and per axis.
pub fn quantize_family() -> Graph {
    use DType::*;
    let mut g = G::new("quantize_family");
    let x = g.input("x", F32, &[1, 4, 5, 5]);
    let per_axis = QuantParams::per_axis(vec![0.5, 0.25, 0.125, 1e-3], vec![-3, 0, 7, -128], 1);
    let op = Op::QnnQuantize { output: qt(0.05, 128), out_dtype: U8 };
    let xq = g.node("xq", op, &[x], U8, &[1, 4, 5, 5]);
    let op = Op::QnnQuantize { output: per_axis.clone(), out_dtype: I8 };
    let xa = g.node("x_per_axis", op, &[x], I8, &[1, 4, 5, 5]);
    let mut last = xq;
    for (i, r) in Rounding::ALL.into_iter().enumerate() {
        let op = Op::QnnRequantize {
            input: qt(0.05, 128),
            output: qt(0.1 * (i + 1) as f32, i as i32 - 3),
            rounding: r,
            out_dtype: I8,
        };
        last = g.node(&format!("rq_{r}"), op, &[xq], I8, &[1, 4, 5, 5]);
    }
    let op = Op::QnnRequantize {
        input: per_axis.clone(),
        output: qt(0.02, 0),
        rounding: Rounding::ToNearest,
        out_dtype: I32,
    };
    let wide = g.node("rq_per_axis", op, &[xa], I32, &[1, 4, 5, 5]);
    let dq = g.node("dq", Op::QnnDequantize { input: qt(0.4, 0) }, &[last], F32, &[1, 4, 5, 5]);
    let dqa =
        g.node("dq_per_axis", Op::QnnDequantize { input: per_axis }, &[xa], F32, &[1, 4, 5, 5]);
    g.finish(&[dq, dqa, wide])
}

/// qnn.conv2d and core conv2d: both data layouts, all kernel layouts, strides, asymmetric
/// padding, dilation, groups, depthwise with a channel multiplier, i16 operands.
pub fn conv_family() -> Graph {
    use DType::*;
    use DataLayout::*;
    use KernelLayout::*;
    let mut g = G::new("conv_family");
    let x = g.input("x", U8, &[1, 4, 9, 9]);
    let w = g.constant("w_grouped", ramp(I8, &[6, 2, 3, 3]));
    let kq = QuantParams::per_axis(vec![0.01, 0.02, 0.03, 0.04, 0.05, 0.06], vec![0], 0);
    let op = Op::QnnConv2d {
        conv: conv([2, 1], [1, 0, 2, 1], [1, 2], 2, Nchw, Oihw),
        input: qt(0.05, 128),
        kernel: kq,
    };
    let grouped = g.node("grouped", op, &[x, w], I32, &[1, 6, 5, 6]);

    let xn = g.input("x_nhwc", U8, &[1, 7, 7, 3]);
    let w = g.constant("w_ohwi", ramp(U8, &[8, 3, 3, 3]));
    let op = Op::QnnConv2d {
        conv: conv([1, 1], [0; 4], [1, 1], 1, Nhwc, Ohwi),
        input: qt(0.5, 0),
        kernel: qt(0.25, 255),
    };
    let nhwc = g.node("nhwc", op, &[xn, w], I32, &[1, 5, 5, 8]);

    let xs = g.input("x_signed", I8, &[1, 3, 6, 6]);
    let w = g.constant("w_depthwise", ramp(I8, &[3, 3, 1, 6]));
    let kq =
        QuantParams::per_axis(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6], vec![0, 1, -1, 2, -2, 127], 3);
    let op = Op::QnnConv2d {
        conv: conv([1, 1], [1, 1, 1, 1], [1, 1], 3, Nchw, Hwio),
        input: qt(0.125, -5),
        kernel: kq,
    };
    let dw = g.node("depthwise_x2", op, &[xs, w], I32, &[1, 6, 6, 6]);

    let xw = g.input("x_i16", I16, &[1, 2, 5, 5]);
    let w = g.constant("w_i16", ramp(I16, &[4, 2, 3, 3]));
    let op = Op::Conv2d { conv: Conv2dAttrs::default(), pad_value: -7 };
    let core = g.node("core_i16", op, &[xw, w], I32, &[1, 4, 3, 3]);

    let w = g.constant("w_hwio", ramp(I8, &[2, 2, 3, 4]));
    let op = Op::Conv2d { conv: conv([2, 2], [1, 0, 0, 1], [2, 1], 1, Nhwc, Hwio), pad_value: 128 };
    let core_nhwc = g.node("core_nhwc", op, &[xn, w], I32, &[1, 3, 4, 4]);
    g.finish(&[grouped, nhwc, dw, core, core_nhwc])
}

/// qnn.dense and core dense.
pub fn dense_family() -> Graph {
    use DType::*;
    let mut g = G::new("dense_family");
    let x = g.input("x", U8, &[2, 16]);
    let w = g.constant("w", ramp(I8, &[8, 16]));
    let kq = QuantParams::per_axis((1..=8).map(|i| i as f32 / 1000.0).collect(), vec![0], 0);
    let op = Op::QnnDense { input: qt(0.02, 3), kernel: kq };
    let q = g.node("fc", op, &[x, w], I32, &[2, 8]);
    let x3 = g.input("x3", I8, &[2, 3, 16]);
    let op = Op::QnnDense { input: qt(0.02, -3), kernel: qt(0.5, 1) };
    let q3 = g.node("fc3", op, &[x3, w], I32, &[2, 3, 8]);
    let a = g.input("a", I16, &[3, 5]);
    let b = g.constant("b", ramp(I16, &[4, 5]));
    let core = g.node("core", Op::Dense, &[a, b], I32, &[3, 4]);
    g.finish(&[q, q3, core])
}

/// qnn.add / qnn.mul / qnn.concatenate and the core element-wise ops.
pub fn elementwise_family() -> Graph {
    use DType::*;
    let mut g = G::new("elementwise_family");
    let a = g.input("a", U8, &[1, 4, 3, 3]);
    let b = g.constant("b", ramp(U8, &[1, 4, 1, 1]));
    let op = |r: Rounding, mul: bool| {
        let (lhs, rhs, output) = (qt(0.1, 10), qt(0.2, 20), qt(0.3, 30));
        if mul {
            Op::QnnMul { lhs, rhs, output, rounding: r, out_dtype: U8 }
        } else {
            Op::QnnAdd { lhs, rhs, output, rounding: r, out_dtype: U8 }
        }
    };
    let add = g.node("qadd", op(Rounding::Upward, false), &[a, b], U8, &[1, 4, 3, 3]);
    let mul = g.node("qmul", op(Rounding::Float, true), &[add, b], U8, &[1, 4, 3, 3]);
    let c = g.input("c", U8, &[1, 2, 3, 3]);
    let op = Op::QnnConcatenate {
        inputs: vec![qt(0.3, 30), qt(0.05, 128)],
        output: qt(0.3, 30),
        axis: 1,
        rounding: Rounding::Tflite,
        out_dtype: U8,
    };
    let cat = g.node("qcat", op, &[mul, c], U8, &[1, 6, 3, 3]);
    let x = g.input("i", I32, &[2, 3]);
    let y = g.constant("j", ramp(I32, &[3]));
    let s = g.node("sum", Op::Add, &[x, y], I32, &[2, 3]);
    let d = g.node("diff", Op::Subtract, &[s, x], I32, &[2, 3]);
    let p = g.node("prod", Op::Multiply, &[d, y], I32, &[2, 3]);
    let f = g.input("f", F32, &[2, 3]);
    let fc = g.constant("fc", ramp(F32, &[1, 1]));
    let div = g.node("quot", Op::Divide, &[f, fc], F32, &[2, 3]);
    let r = g.node("rounded", Op::Round, &[div], F32, &[2, 3]);
    g.finish(&[cat, p, r])
}

/// qnn.avg_pool2d / global_avg_pool2d / max_pool2d and core pool2d (sum and max).
pub fn pool_family() -> Graph {
    use DType::*;
    use DataLayout::*;
    let mut g = G::new("pool_family");
    let x = g.input("x", U8, &[1, 3, 8, 8]);
    let op = Op::QnnAvgPool2d {
        pool: pool([3, 3], [2, 2], [1, 1, 1, 1], [1, 1], Nchw),
        count_include_pad: true,
        input: qt(0.05, 128),
        output: qt(0.04, 120),
        rounding: Rounding::ToNearest,
        out_dtype: U8,
    };
    let avg = g.node("avg", op, &[x], U8, &[1, 3, 4, 4]);
    let xn = g.input("x_nhwc", I8, &[1, 5, 5, 3]);
    let op = Op::QnnGlobalAvgPool2d {
        layout: Nhwc,
        input: qt(0.05, -1),
        output: qt(0.01, 2),
        rounding: Rounding::Float,
        out_dtype: I8,
    };
    let gap = g.node("gap", op, &[xn], I8, &[1, 1, 1, 3]);
    let op = Op::QnnAvgPool2d {
        pool: pool([2, 2], [1, 1], [0, 1, 1, 0], [1, 1], Nhwc),
        count_include_pad: false,
        input: qt(0.05, -1),
        output: qt(0.05, -1),
        rounding: Rounding::Upward,
        out_dtype: I8,
    };
    let avg_nhwc = g.node("avg_nhwc", op, &[xn], I8, &[1, 5, 5, 3]);
    let op = Op::QnnMaxPool2d { pool: pool([2, 2], [2, 2], [0; 4], [1, 1], Nhwc) };
    let maxp = g.node("maxp", op, &[avg_nhwc], I8, &[1, 2, 2, 3]);
    let op = Op::Pool2d {
        kind: PoolKind::Sum,
        pool: pool([2, 3], [1, 2], [0, 1, 0, 1], [2, 1], Nchw),
        pad_value: 128,
    };
    let sum = g.node("window_sum", op, &[x], I32, &[1, 3, 6, 4]);
    let op = Op::Pool2d {
        kind: PoolKind::Max,
        pool: pool([3, 3], [1, 1], [1, 1, 1, 1], [1, 1], Nchw),
        pad_value: 0,
    };
    let max = g.node("window_max", op, &[x], U8, &[1, 3, 8, 8]);
    g.finish(&[avg, gap, maxp, sum, max])
}

/// qnn.clip / qnn.relu and the remaining core ops: cast, sum, pad, clip, requantize (fixed
/// point per axis and float), reshape, transpose, concatenate.
pub fn shape_family() -> Graph {
    use DType::*;
    let mut g = G::new("shape_family");
    let x = g.input("x", U8, &[2, 3]);
    let op = Op::QnnClip { min: -1.5, max: 6.0, q: qt(0.05, 128) };
    let clip = g.node("qclip", op, &[x], U8, &[2, 3]);
    let xs = g.input("xs", I8, &[2, 3]);
    let relu = g.node("qrelu", Op::QnnRelu { q: qt(0.1, -10) }, &[xs], I8, &[2, 3]);
    let wide = g.node("wide", Op::Cast { to: I32 }, &[clip], I32, &[2, 3]);
    let f = g.node("as_f32", Op::Cast { to: F32 }, &[relu], F32, &[2, 3]);
    let acc = g.input("acc", I32, &[1, 4, 3, 3]);
    let s = g.node("s", Op::Sum { axes: vec![2, 3], keepdims: true }, &[acc], I32, &[1, 4, 1, 1]);
    let s0 = g.node("s0", Op::Sum { axes: vec![1], keepdims: false }, &[x], I32, &[2]);
    let pads = vec![[0, 0], [0, 0], [1, 2], [2, 1]];
    let padded = g.node("padded", Op::Pad { pads, value: 128.0 }, &[acc], I32, &[1, 4, 6, 6]);
    let op = Op::Pad { pads: vec![[1, 0], [0, 3]], value: -0.5 };
    let fpad = g.node("fpad", op, &[f], F32, &[3, 6]);
    let clamped = g.node("clamped", Op::Clip { min: -128.0, max: 127.0 }, &[wide], I32, &[2, 3]);
    let mults = [(1518500250, -5), (1073741824, 0), (2147483647, 3), (0, 0)]
        .map(|(multiplier, shift)| FixedPointMultiplier { multiplier, shift })
        .to_vec();
    let op = Op::Requantize {
        scale: RequantScale::Fixed { mults, rounding: FixedRounding::ToNearest },
        axes: vec![1],
        input_zero_point: 0,
        output_zero_point: 3,
        out_dtype: U8,
    };
    let rq = g.node("rq_fixed", op, &[s], U8, &[1, 4, 1, 1]);
    let op = Op::Requantize {
        scale: RequantScale::Float { mults: vec![0.0123] },
        axes: vec![],
        input_zero_point: -7,
        output_zero_point: -128,
        out_dtype: I8,
    };
    let rqf = g.node("rq_float", op, &[clamped], I8, &[2, 3]);
    let t = g.input("t", I32, &[2, 3, 4]);
    let r = g.node("flat", Op::Reshape { shape: vec![6, 4] }, &[t], I32, &[6, 4]);
    let tr = g.node("tr", Op::Transpose { perm: vec![2, 0, 1] }, &[t], I32, &[4, 2, 3]);
    let u = g.constant("u", ramp(I32, &[1, 3]));
    let cat = g.node("cat", Op::Concatenate { axis: 0 }, &[wide, u, clamped], I32, &[5, 3]);
    let img = g.input("img", U8, &[1, 2, 3, 4]);
    let resize = qnn_ir::ResizeAttrs {
        mode: qnn_ir::ResizeMode::Linear,
        coordinate: qnn_ir::CoordinateMode::TfCropAndResize,
        nearest: qnn_ir::NearestMode::RoundPreferCeil,
        sizes: vec![1, 2, 6, 7],
        scales: vec![1.0, 1.0, 2.0, 1.75],
        roi: vec![0.0, 0.0, 0.1, -0.2, 1.0, 1.0, 0.9, 1.25],
        axes: vec![2, 3],
        cubic_coeff_a: -0.5,
        exclude_outside: true,
        extrapolation_value: 7.5,
    };
    let up = g.node("up", Op::Resize { resize }, &[img], U8, &[1, 2, 6, 7]);
    let slice =
        Op::Slice { starts: vec![0, 1, 2, 3], steps: vec![1, -1, 1, -2], sizes: vec![1, 2, 1, 2] };
    let cut = g.node("cut", slice, &[img], U8, &[1, 2, 1, 2]);
    g.finish(&[s0, padded, fpad, rq, rqf, r, tr, cat, up, cut])
}

/// The core ops imported models need: `matmul` (integer and f32), `softmax`, `lookup`.
pub fn imported_family() -> Graph {
    use DType::*;
    let mut g = G::new("imported_family");
    let a = g.input("a", I16, &[2, 3, 5]);
    let b = g.constant("b", ramp(I16, &[5, 4]));
    let mm = g.node("mm", Op::MatMul, &[a, b], I32, &[2, 3, 4]);
    let f = g.input("f", F32, &[2, 6]);
    let w = g.constant("w", ramp(F32, &[6, 3]));
    let fm = g.node("fm", Op::MatMul, &[f, w], F32, &[2, 3]);
    let sm = g.node("sm", Op::Softmax { axis: 1 }, &[fm], F32, &[2, 3]);
    let half = g.constant("half", ramp(F32, &[3]));
    let fused = g.node("fused", Op::Fma, &[sm, half, fm], F32, &[2, 3]);
    let x = g.input("x", I8, &[7]);
    let t = g.constant("t", ramp(U8, &[256]));
    let lk = g.node("lk", Op::Lookup, &[x, t], U8, &[7]);
    g.finish(&[mm, fused, lk])
}

/// Every family graph with its name.
pub fn families() -> Vec<Graph> {
    vec![
        imported_family(),
        quantize_family(),
        conv_family(),
        dense_family(),
        elementwise_family(),
        pool_family(),
        shape_family(),
        conv_transpose_family(),
    ]
}

/// `qnn.conv2d_transpose` (per-channel kernel over two groups, every attribute off its
/// default) and the `dilate` it is lowered through, in both layouts.
pub fn conv_transpose_family() -> Graph {
    use DType::*;
    let mut g = G::new("conv_transpose_family");
    let x = g.input("x", U8, &[1, 4, 3, 4]);
    let w = g.constant("w", ramp(I8, &[4, 2, 3, 2]));
    let op = Op::QnnConv2dTranspose {
        conv: qnn_ir::ConvTranspose2dAttrs {
            strides: [2, 3],
            padding: [1, 0, 2, 1],
            output_padding: [1, 2],
            dilation: [1, 2],
            groups: 2,
        },
        input: qt(0.05, 128),
        kernel: QuantParams::per_axis(vec![0.1, 0.2, 0.3, 0.4], vec![0, 1, -1, 2], 0),
    };
    let y = g.node("transposed", op, &[x, w], I32, &[1, 4, 5, 13]);
    let d = |strides, crop, value, layout| Op::Dilate {
        dilate: qnn_ir::DilateAttrs { strides, crop, value, layout },
    };
    let a =
        g.node("dilated", d([2, 2], [1, 0, 0, 1], 7, DataLayout::Nchw), &[x], U8, &[1, 4, 4, 6]);
    let xn = g.input("x_nhwc", I8, &[1, 3, 4, 2]);
    let b = g.node(
        "dilated_nhwc",
        d([1, 3], [0, 2, 1, 0], -5, DataLayout::Nhwc),
        &[xn],
        I8,
        &[1, 2, 8, 2],
    );
    g.finish(&[y, a, b])
}
