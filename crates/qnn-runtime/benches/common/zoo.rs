//! Whole-model benchmark graphs: the MobileNetV2-style and ResNet-style networks of the
//! peer models (`peers/gen_models.py`: same layers, shapes and op mix as ONNX Runtime's
//! QOperator quantization of them — quantize, QLinearConv with bias and per-channel weights,
//! QLinearAdd, QLinearGlobalAveragePool, Flatten, QGemm, dequantize — all in ORT's float
//! rounding), with seeded random weights instead of the ONNX files (no importer yet).
#![allow(dead_code)]

use qnn_ir::*;

/// Deterministic pseudo-random integers in `[lo, hi]`.
pub fn values(n: usize, seed: u64, lo: i64, hi: i64) -> Vec<i64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lo + ((s >> 33) % (hi - lo + 1) as u64) as i64
        })
        .collect()
}

fn tensor(dtype: DType, shape: &[usize], v: Vec<i64>) -> Tensor {
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).unwrap();
    Tensor::from_i64("zoo", dtype, a).unwrap()
}

/// Builds a QOperator-style quantized network.
struct Net {
    b: GraphBuilder,
    n: usize,
    seed: u64,
}

/// A u8 activation and its quantization.
#[derive(Clone)]
struct Act {
    v: ValueId,
    q: QuantParams,
    c: usize,
}

impl Net {
    fn next(&mut self, stem: &str) -> String {
        self.n += 1;
        format!("{stem}{}", self.n)
    }

    /// QLinearConv (+ bias, per-channel weights) → u8 with a fresh output scale.
    fn conv(&mut self, x: &Act, out_c: usize, k: usize, stride: usize, groups: usize) -> Act {
        let name = self.next("conv");
        let cpg = x.c / groups;
        self.seed += 1;
        let w = values(out_c * cpg * k * k, self.seed, -127, 127);
        let wv = self
            .b
            .constant(format!("{name}.w"), tensor(DType::I8, &[out_c, cpg, k, k], w))
            .unwrap();
        let scales: Vec<f32> = (0..out_c).map(|o| 0.004 + 0.0001 * (o % 7) as f32).collect();
        let attrs = Conv2dAttrs {
            strides: [stride; 2],
            padding: [k / 2; 4],
            groups,
            ..Conv2dAttrs::default()
        };
        let kq = QuantParams::per_axis(scales.clone(), vec![0], 0);
        let op = Op::QnnConv2d { conv: attrs, input: x.q.clone(), kernel: kq };
        let y = self.b.node(&name, op, &[x.v, wv]).unwrap();
        let bias = values(out_c, self.seed ^ 3, -2000, 2000);
        let bv =
            self.b.constant(format!("{name}.b"), tensor(DType::I32, &[out_c, 1, 1], bias)).unwrap();
        let y = self.b.node(format!("{name}.bias"), Op::Add, &[y, bv]).unwrap();
        let acc = scales.iter().map(|s| s * x.q.scale[0]).collect();
        let k_len = (cpg * k * k) as f32;
        let out = QuantParams::per_tensor(x.q.scale[0] * 0.004 * k_len.sqrt() * 20.0, 0);
        let op = Op::QnnRequantize {
            input: QuantParams::per_axis(acc, vec![0], 1),
            output: out.clone(),
            rounding: Rounding::Float,
            out_dtype: DType::U8,
        };
        let y = self.b.node(format!("{name}.rq"), op, &[y]).unwrap();
        Act { v: y, q: out, c: out_c }
    }

    /// QLinearAdd.
    fn add(&mut self, a: &Act, b: &Act) -> Act {
        let name = self.next("add");
        let out = QuantParams::per_tensor(a.q.scale[0] + b.q.scale[0], 3);
        let op = Op::QnnAdd {
            lhs: a.q.clone(),
            rhs: b.q.clone(),
            output: out.clone(),
            rounding: Rounding::Float,
            out_dtype: DType::U8,
        };
        Act { v: self.b.node(name, op, &[a.v, b.v]).unwrap(), q: out, c: a.c }
    }

    /// QLinearGlobalAveragePool → Flatten → QGemm (+ bias) → DequantizeLinear.
    fn head(mut self, x: &Act, classes: usize) -> Graph {
        let op = Op::QnnGlobalAvgPool2d {
            layout: DataLayout::Nchw,
            input: x.q.clone(),
            output: x.q.clone(),
            rounding: Rounding::Float,
            out_dtype: DType::U8,
        };
        let g = self.b.node("gap", op, &[x.v]).unwrap();
        let f = self.b.node("flatten", Op::Reshape { shape: vec![1, x.c] }, &[g]).unwrap();
        let w = values(classes * x.c, 77, -127, 127);
        let wv = self.b.constant("fc.w", tensor(DType::I8, &[classes, x.c], w)).unwrap();
        let op = Op::QnnDense { input: x.q.clone(), kernel: QuantParams::per_tensor(0.003, 0) };
        let y = self.b.node("fc", op, &[f, wv]).unwrap();
        let bv = self
            .b
            .constant("fc.b", tensor(DType::I32, &[classes], values(classes, 78, -999, 999)))
            .unwrap();
        let y = self.b.node("fc.bias", Op::Add, &[y, bv]).unwrap();
        let out = QuantParams::per_tensor(0.05, 128);
        let op = Op::QnnRequantize {
            input: QuantParams::per_tensor(0.003 * x.q.scale[0], 0),
            output: out.clone(),
            rounding: Rounding::Float,
            out_dtype: DType::U8,
        };
        let y = self.b.node("fc.rq", op, &[y]).unwrap();
        let y = self.b.node("logits", Op::QnnDequantize { input: out }, &[y]).unwrap();
        self.b.output(y);
        self.b.finish().unwrap()
    }

    fn input(name: &str, shape: [usize; 4]) -> (Net, Act) {
        let mut b = GraphBuilder::new(name);
        let x = b.input("input", TensorType::new(DType::F32, shape)).unwrap();
        let q = QuantParams::per_tensor(0.03, 128);
        let op = Op::QnnQuantize { output: q.clone(), out_dtype: DType::U8 };
        let xq = b.node("input.q", op, &[x]).unwrap();
        (Net { b, n: 0, seed: 1000 }, Act { v: xq, q, c: shape[1] })
    }
}

/// A float input of `shape` with values in about [-2, 2].
pub fn input(shape: &[usize], seed: u64) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<f32> = values(n, seed, -2000, 2000).into_iter().map(|v| v as f32 / 1000.0).collect();
    Tensor::from_vec(shape, v).unwrap()
}

/// MobileNetV2-style, 1×3×224×224 → 1000 (0.21 GMAC): stem 3→32 s2, 11 inverted
/// residual blocks (expand 1×1, depthwise 3×3, project 1×1, QLinearAdd where shapes
/// allow), 1×1 → 1280, global average pool, dense 1280 → 1000.
pub fn mobilenetv2() -> (Graph, Tensor) {
    let (mut n, x) = Net::input("mobilenetv2_style", [1, 3, 224, 224]);
    let mut x = n.conv(&x, 32, 3, 2, 1);
    let cfg = [
        (1, 16, 1),
        (6, 24, 2),
        (6, 24, 1),
        (6, 32, 2),
        (6, 32, 1),
        (6, 64, 2),
        (6, 64, 1),
        (6, 96, 1),
        (6, 160, 2),
        (6, 160, 1),
        (6, 320, 1),
    ];
    for (t, c, s) in cfg {
        let hid = x.c * t;
        let mut h = x.clone();
        if t != 1 {
            h = n.conv(&h, hid, 1, 1, 1);
        }
        h = n.conv(&h, hid, 3, s, hid);
        h = n.conv(&h, c, 1, 1, 1);
        x = if s == 1 && x.c == c { n.add(&x, &h) } else { h };
    }
    let x = n.conv(&x, 1280, 1, 1, 1);
    (n.head(&x, 1000), input(&[1, 3, 224, 224], 5))
}

/// ResNet-style, 1×3×112×112 → 100 (0.37 GMAC): stem 3×3 s2 3→32, basic blocks of two
/// 3×3 convs with a residual QLinearAdd (1×1 projections at stride 2), widths 32/64/128/256.
pub fn resnet() -> (Graph, Tensor) {
    let (mut n, x) = Net::input("resnet_style", [1, 3, 112, 112]);
    let mut x = n.conv(&x, 32, 3, 2, 1);
    for (c, s, blocks) in [(32, 1, 2), (64, 2, 2), (128, 2, 2), (256, 2, 1)] {
        for i in 0..blocks {
            let st = if i == 0 { s } else { 1 };
            let h = n.conv(&x, c, 3, st, 1);
            let h = n.conv(&h, c, 3, 1, 1);
            let sc = if st == 1 && x.c == c { x.clone() } else { n.conv(&x, c, 1, st, 1) };
            x = n.add(&sc, &h);
        }
    }
    (n.head(&x, 100), input(&[1, 3, 112, 112], 6))
}
