//! Random QNN graphs of the ops around convolutions, for the property tests of the typed
//! steps: an f32 input quantized (per tensor, zero points at the edges), then max and
//! average pools (asymmetric and ceil-mode padding, strides, `count_include_pad` on and
//! off, float and fixed-point rounding), global average pools, float and fixed-point
//! `qnn.add`, concatenations with and without requantization, requantize, clip and relu
//! (8-bit → 8-bit: lookups), a core `lookup` table, 1×1 convolutions between them, and the
//! output dequantized (or left 8-bit).
#![allow(dead_code)]

use proptest::prelude::*;
use qnn_ir::*;

use super::random_graph::{Cur, dtype, zp};
use super::{f32_tensor, tensor, values};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MaxPool,
    AvgPool,
    GlobalPool,
    Add,
    Concat,
    Requantize,
    Clip,
    Table,
    Conv,
}

/// One layer's raw parameters; [`build`] interprets them against the current tensor.
#[derive(Debug, Clone)]
pub struct Layer {
    pub kind: Kind,
    pub kernel: usize,
    pub stride: usize,
    /// (top, left, bottom, right), each clamped below the window.
    pub pads: [usize; 4],
    pub count_include_pad: bool,
    pub float: bool,
    pub rounding: Rounding,
    pub out_u8: bool,
    pub zp_pick: usize,
    pub scale_exp: i32,
    /// Which earlier tensors an add or a concatenation reads, and which parts keep the
    /// output's parameters (copies).
    pub picks: [usize; 3],
    pub copies: [bool; 3],
    pub seed: u64,
}

/// A random graph: input shape and quantization, layers, whether the output is dequantized.
#[derive(Debug, Clone)]
pub struct Net {
    pub shape: [usize; 4],
    pub input_u8: bool,
    pub input_zp_pick: usize,
    pub layers: Vec<Layer>,
    pub dequantize: bool,
    pub seed: u64,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        3 => Just(Kind::MaxPool),
        3 => Just(Kind::AvgPool),
        1 => Just(Kind::GlobalPool),
        2 => Just(Kind::Add),
        2 => Just(Kind::Concat),
        1 => Just(Kind::Requantize),
        1 => Just(Kind::Clip),
        1 => Just(Kind::Table),
        1 => Just(Kind::Conv),
    ]
}

fn layer() -> impl Strategy<Value = Layer> {
    (
        (kind(), 1usize..=3, 1usize..=2, [0usize..=2, 0usize..=2, 0usize..=3, 0usize..=3]),
        (any::<bool>(), prop::bool::weighted(0.7), prop::sample::select(Rounding::ALL.to_vec())),
        (any::<bool>(), 0usize..6, -2i32..=2),
        ([0usize..8, 0usize..8, 0usize..8], any::<[bool; 3]>(), any::<u64>()),
    )
        .prop_map(
            |(
                (kind, kernel, stride, pads),
                (count_include_pad, float, rounding),
                (out_u8, zp_pick, scale_exp),
                (picks, copies, seed),
            )| Layer {
                kind,
                kernel,
                stride,
                pads,
                count_include_pad,
                float,
                rounding,
                out_u8,
                zp_pick,
                scale_exp,
                picks,
                copies,
                seed,
            },
        )
}

pub fn net() -> impl Strategy<Value = Net> {
    (
        (1usize..=2, 1usize..=9, 2usize..=9, 2usize..=9),
        any::<bool>(),
        0usize..6,
        prop::collection::vec(layer(), 1..=5),
        prop::bool::weighted(0.75),
        any::<u64>(),
    )
        .prop_map(|((n, c, h, w), input_u8, input_zp_pick, layers, dequantize, seed)| Net {
            shape: [n, c, h, w],
            input_u8,
            input_zp_pick,
            layers,
            dequantize,
            seed,
        })
}

/// What [`build`] made of the layers: how many of each op the graph holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Made {
    pub max_pools: usize,
    /// Float-mode average pools (ONNX Runtime's f32 average).
    pub f32_pools: usize,
    /// Integer window sums: fixed-point average pools and global average pools.
    pub sum_pools: usize,
    /// Float-mode `qnn.add` of one dtype.
    pub float_adds: usize,
    pub concats: usize,
    /// Concatenation inputs that are requantized (not copies).
    pub converted_parts: usize,
    pub tables: usize,
}

/// The graph, a random input and what it holds. Layers that do not fit the current tensor
/// are skipped.
pub fn build(net: &Net) -> (Graph, Tensor, Made) {
    let mut b = GraphBuilder::new("data_graph");
    let shape = net.shape.to_vec();
    let x = b.input("x", TensorType::new(DType::F32, shape.clone())).unwrap();
    let dt = dtype(net.input_u8);
    let q = QuantParams::per_tensor(0.05, zp(dt, net.input_zp_pick, net.seed));
    let xq = b.node("quant", Op::QnnQuantize { output: q.clone(), out_dtype: dt }, &[x]).unwrap();
    let mut cur = Cur { v: xq, dtype: dt, q, shape };
    let mut history = vec![cur.clone()];
    let mut made = Made::default();
    for (i, l) in net.layers.iter().enumerate() {
        if let Some(next) = layer_node(&mut b, i, l, &cur, &history, &mut made) {
            cur = next;
            history.push(cur.clone());
        }
    }
    let y = if net.dequantize {
        b.node("deq", Op::QnnDequantize { input: cur.q.clone() }, &[cur.v]).unwrap()
    } else {
        cur.v
    };
    b.output(y);
    let g = b.finish().unwrap();
    let mut input = f32_tensor(&net.shape, net.seed, -8.0, 8.0);
    if let Tensor::F32(a) = &mut input {
        // Ties of the quantization, values outside the range, NaN and infinities.
        let special =
            [0.025f32, -0.075, 1e9, -1e9, 0.0, -0.0, f32::NAN, f32::INFINITY, -f32::INFINITY];
        for (k, v) in a.iter_mut().enumerate().filter(|(k, _)| k % 7 == 3) {
            *v = special[k % special.len()];
        }
    }
    (g, input, made)
}

fn pool_attrs(l: &Layer, h: usize, w: usize) -> Pool2dAttrs {
    let k = l.kernel.min(h).min(w);
    let [pt, pl, pb, pr] = l.pads;
    Pool2dAttrs {
        kernel: [k, k],
        strides: [l.stride; 2],
        // Bottom/right padding beyond the top/left: ceil mode.
        padding: [pt.min(k - 1), pl.min(k - 1), pb.min(k - 1), pr.min(k - 1)],
        dilation: [1, 1],
        layout: DataLayout::Nchw,
    }
}

fn out_q(l: &Layer, base: &QuantParams, dtype: DType) -> QuantParams {
    QuantParams::per_tensor(base.scale[0] * 2f32.powi(l.scale_exp), zp(dtype, l.zp_pick, l.seed))
}

fn layer_node(
    b: &mut GraphBuilder,
    i: usize,
    l: &Layer,
    cur: &Cur,
    history: &[Cur],
    made: &mut Made,
) -> Option<Cur> {
    let [n, c, h, w] = [cur.shape[0], cur.shape[1], cur.shape[2], cur.shape[3]];
    let name = format!("l{i}");
    let rounding = if l.float { Rounding::Float } else { l.rounding };
    match l.kind {
        Kind::MaxPool => {
            let op = Op::QnnMaxPool2d { pool: pool_attrs(l, h, w) };
            let v = b.node(format!("{name}.maxpool"), op, &[cur.v]).ok()?;
            made.max_pools += 1;
            let shape = b.graph().ty(v).shape.clone();
            Some(Cur { v, shape, ..cur.clone() })
        }
        Kind::AvgPool => {
            let output = out_q(l, &cur.q, cur.dtype);
            let op = Op::QnnAvgPool2d {
                pool: pool_attrs(l, h, w),
                count_include_pad: l.count_include_pad,
                input: cur.q.clone(),
                output: output.clone(),
                rounding,
                out_dtype: cur.dtype,
            };
            let v = b.node(format!("{name}.avgpool"), op, &[cur.v]).ok()?;
            if rounding == Rounding::Float {
                made.f32_pools += 1;
            } else {
                made.sum_pools += 1;
            }
            let shape = b.graph().ty(v).shape.clone();
            Some(Cur { v, shape, q: output, ..cur.clone() })
        }
        Kind::GlobalPool => {
            let output = out_q(l, &cur.q, cur.dtype);
            let op = Op::QnnGlobalAvgPool2d {
                layout: DataLayout::Nchw,
                input: cur.q.clone(),
                output: output.clone(),
                rounding,
                out_dtype: cur.dtype,
            };
            let v = b.node(format!("{name}.gap"), op, &[cur.v]).ok()?;
            made.sum_pools += 1;
            Some(Cur { v, shape: vec![n, c, 1, 1], q: output, ..cur.clone() })
        }
        Kind::Add => {
            let same: Vec<&Cur> =
                history.iter().filter(|o| o.shape == cur.shape && o.dtype == cur.dtype).collect();
            let other = same[l.picks[0] % same.len()];
            let output = out_q(l, &cur.q, cur.dtype);
            let op = Op::QnnAdd {
                lhs: cur.q.clone(),
                rhs: other.q.clone(),
                output: output.clone(),
                rounding,
                out_dtype: cur.dtype,
            };
            let v = b.node(format!("{name}.add"), op, &[cur.v, other.v]).ok()?;
            made.float_adds += usize::from(rounding == Rounding::Float);
            Some(Cur { v, q: output, ..cur.clone() })
        }
        Kind::Concat => {
            // Tensors of the current one's batch, height, width and dtype.
            let fit: Vec<&Cur> = history
                .iter()
                .filter(|o| {
                    o.dtype == cur.dtype
                        && o.shape.len() == 4
                        && [o.shape[0], o.shape[2], o.shape[3]] == [n, h, w]
                })
                .collect();
            let parts = 2 + (l.seed % 2) as usize;
            let mut chosen = vec![cur.clone()];
            chosen.extend((1..parts).map(|k| fit[l.picks[k] % fit.len()].clone()));
            let output = out_q(l, &cur.q, cur.dtype);
            let mut qs = Vec::new();
            for (k, p) in chosen.iter().enumerate() {
                qs.push(if l.copies[k] { output.clone() } else { p.q.clone() });
            }
            // A part declared with other parameters than the output's is requantized by the
            // concatenation; the others are copies, requantized to the output's parameters
            // first where they carry others.
            let converted = qs.iter().filter(|q| **q != output).count();
            let mut inputs = Vec::new();
            for (k, p) in chosen.iter().enumerate() {
                if l.copies[k] && p.q != output {
                    let op = Op::QnnRequantize {
                        input: p.q.clone(),
                        output: output.clone(),
                        rounding,
                        out_dtype: cur.dtype,
                    };
                    inputs.push(b.node(format!("{name}.rq{k}"), op, &[p.v]).ok()?);
                } else {
                    inputs.push(p.v);
                }
            }
            let op = Op::QnnConcatenate {
                inputs: qs,
                output: output.clone(),
                axis: 1,
                rounding,
                out_dtype: cur.dtype,
            };
            let v = b.node(format!("{name}.concat"), op, &inputs).ok()?;
            made.concats += 1;
            made.converted_parts += converted;
            let shape = b.graph().ty(v).shape.clone();
            Some(Cur { v, shape, q: output, ..cur.clone() })
        }
        Kind::Requantize => {
            let out_dt = dtype(l.out_u8);
            let output = out_q(l, &cur.q, out_dt);
            let op = Op::QnnRequantize {
                input: cur.q.clone(),
                output: output.clone(),
                rounding: l.rounding,
                out_dtype: out_dt,
            };
            let v = b.node(format!("{name}.rq"), op, &[cur.v]).ok()?;
            Some(Cur { v, dtype: out_dt, q: output, ..cur.clone() })
        }
        Kind::Clip => {
            let op = if l.seed.is_multiple_of(2) {
                Op::QnnRelu { q: cur.q.clone() }
            } else {
                Op::QnnClip { min: -0.3, max: 2.0, q: cur.q.clone() }
            };
            let v = b.node(format!("{name}.clip"), op, &[cur.v]).ok()?;
            Some(Cur { v, ..cur.clone() })
        }
        Kind::Table => {
            let out_dt = dtype(l.out_u8);
            let (lo, hi) = out_dt.int_range().unwrap();
            let t = b.constant(
                format!("{name}.table"),
                tensor(out_dt, &[256], values(256, l.seed, lo, hi)),
            );
            let v = b.node(format!("{name}.lookup"), Op::Lookup, &[cur.v, t.ok()?]).ok()?;
            made.tables += 1;
            Some(Cur { v, dtype: out_dt, q: out_q(l, &cur.q, out_dt), ..cur.clone() })
        }
        Kind::Conv => {
            let out_c = 1 + (l.seed % 8) as usize;
            let wv = values(out_c * c, l.seed, -127, 127);
            let wt =
                b.constant(format!("{name}.w"), tensor(DType::I8, &[out_c, c, 1, 1], wv)).ok()?;
            let kq = QuantParams::per_tensor(0.02, 0);
            let op =
                Op::QnnConv2d { conv: Conv2dAttrs::default(), input: cur.q.clone(), kernel: kq };
            let y = b.node(format!("{name}.conv"), op, &[cur.v, wt]).ok()?;
            let out_dt = dtype(l.out_u8);
            let acc = QuantParams::per_tensor(cur.q.scale[0] * 0.02, 0);
            let output = QuantParams::per_tensor(
                cur.q.scale[0] * 0.02 * (c as f32).sqrt() * 40.0,
                zp(out_dt, l.zp_pick, l.seed),
            );
            let op = Op::QnnRequantize {
                input: acc,
                output: output.clone(),
                rounding: l.rounding,
                out_dtype: out_dt,
            };
            let v = b.node(format!("{name}.rq"), op, &[y]).ok()?;
            Some(Cur { v, dtype: out_dt, q: output, shape: vec![n, out_c, h, w] })
        }
    }
}
