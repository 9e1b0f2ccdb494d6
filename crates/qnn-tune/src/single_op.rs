//! The single-op model of a conv/dense signature: the op as an importer emits it (`qnn.conv2d`
//! or `qnn.dense`, a bias add when the signature has one, a float requantize back to the data
//! dtype), with seeded random data and weights, ready to compile on one backend under one
//! lowering and time.
//!
//! The data is NHWC and the weights OHWI whatever the signature's layouts: the runtime runs
//! convs in NHWC and converts NCHW only at the graph edges, so an NHWC model times the op
//! itself, without the edge transposes that a whole model does not pay per op.

use ndarray::{ArrayD, IxDyn};
use qnn_ir::{
    Conv2dAttrs, DType, DataLayout, Graph, GraphBuilder, KernelLayout, Op, QuantParams, Rounding,
    Tensor, TensorType,
};
use qnn_legalize::{OpKind, OpSignature};

use crate::error::TuneError;

/// A deterministic xorshift stream (the same model for the same signature and seed).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `[lo, hi]`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
}

/// The values a dtype holds; symmetric s8 weights leave out −128 as quantizers do.
fn value_range(dtype: DType, weights: bool) -> Option<(i64, i64)> {
    match dtype {
        DType::U8 => Some((0, 255)),
        DType::I8 if weights => Some((-127, 127)),
        DType::I8 => Some((-128, 127)),
        _ => None,
    }
}

fn random_tensor(
    node: &str,
    rng: &mut Rng,
    dtype: DType,
    shape: &[usize],
    (lo, hi): (i64, i64),
) -> Result<Tensor, TuneError> {
    let n = shape.iter().product();
    let v: Vec<i64> = (0..n).map(|_| rng.range(lo, hi)).collect();
    let a = ArrayD::from_shape_vec(IxDyn(shape), v)
        .map_err(|e| TuneError::Unsupported { node: node.into(), what: e.to_string() })?;
    Tensor::from_i64("single-op model", dtype, a)
        .map_err(|source| TuneError::Build { node: node.into(), source: Box::new(source) })
}

/// The single-op model of `sig` and one input for it.
pub fn single_op_model(sig: &OpSignature, seed: u64) -> Result<(Graph, Tensor), TuneError> {
    let unsupported = |what: String| TuneError::Unsupported { node: sig.node.clone(), what };
    let data_dtype: DType = sig
        .data_dtype
        .parse()
        .map_err(|_| unsupported(format!("data dtype `{}`", sig.data_dtype)))?;
    let weight_dtype: DType = sig
        .weight_dtype
        .parse()
        .map_err(|_| unsupported(format!("weight dtype `{}`", sig.weight_dtype)))?;
    let (Some(data_range), Some(weight_range)) =
        (value_range(data_dtype, false), value_range(weight_dtype, true))
    else {
        return Err(unsupported(format!("operands {data_dtype}×{weight_dtype} are not 8-bit")));
    };
    if sig.groups == 0 || !sig.c.is_multiple_of(sig.groups) || !sig.o.is_multiple_of(sig.groups) {
        return Err(unsupported(format!(
            "{} groups for {} input and {} output channels",
            sig.groups, sig.c, sig.o
        )));
    }
    let ir = |source| TuneError::Build { node: sig.node.clone(), source: Box::new(source) };

    let mut rng = Rng::new(seed ^ sig.macs);
    let mut b = GraphBuilder::new(format!("single-op {}", sig.node));
    let k = sig.k.max(1) as f32;
    let (s_x, s_w) = (0.02f32, 0.004f32);
    let input_q = QuantParams::per_tensor(s_x, sig.input_zero_point);
    let kernel_q = if sig.weight_zero_points.len() > 1 {
        QuantParams::per_axis(vec![s_w; sig.o], sig.weight_zero_points.clone(), 0)
    } else {
        QuantParams::per_tensor(s_w, sig.weight_zero_points.first().copied().unwrap_or(0))
    };
    let (x_shape, w_shape, op) = match sig.kind {
        OpKind::Dense => (
            vec![sig.n, sig.c],
            vec![sig.o, sig.c],
            Op::QnnDense { input: input_q, kernel: kernel_q },
        ),
        OpKind::Conv2d | OpKind::DepthwiseConv2d => (
            vec![sig.n, sig.h, sig.w, sig.c],
            vec![sig.o, sig.r, sig.s, sig.c / sig.groups],
            Op::QnnConv2d {
                conv: Conv2dAttrs {
                    strides: sig.strides,
                    padding: sig.padding,
                    dilation: sig.dilation,
                    groups: sig.groups,
                    data_layout: DataLayout::Nhwc,
                    kernel_layout: KernelLayout::Ohwi,
                },
                input: input_q,
                kernel: kernel_q,
            },
        ),
    };
    let x = b.input("x", TensorType::new(data_dtype, x_shape.clone())).map_err(ir)?;
    let w = random_tensor(&sig.node, &mut rng, weight_dtype, &w_shape, weight_range)?;
    let w = b.constant("w", w).map_err(ir)?;
    let mut y = b.node(sig.node.clone(), op, &[x, w]).map_err(ir)?;
    if sig.has_bias {
        let bias = random_tensor(&sig.node, &mut rng, DType::I32, &[sig.o], (-5000, 5000))?;
        let bias = b.constant("bias", bias).map_err(ir)?;
        y = b.node(format!("{}.bias", sig.node), Op::Add, &[y, bias]).map_err(ir)?;
    }
    // An output scale that keeps most results inside the 8-bit range: σ(acc) ≈ 74·73·√K.
    let s_y = s_x * s_w * k.sqrt() * 74.0 * 73.0 / 32.0;
    let out_zp = if data_dtype == DType::U8 { 128 } else { 0 };
    let requant = Op::QnnRequantize {
        input: QuantParams::per_tensor(s_x * s_w, 0),
        output: QuantParams::per_tensor(s_y, out_zp),
        rounding: Rounding::Float,
        out_dtype: data_dtype,
    };
    let y = b.node(format!("{}.requant", sig.node), requant, &[y]).map_err(ir)?;
    b.output(y);
    let input = random_tensor(&sig.node, &mut rng, data_dtype, &x_shape, data_range)?;
    Ok((b.finish().map_err(ir)?, input))
}
