//! Random QNN chains for the fused-vs-reference property tests: convolutions (grouped,
//! depthwise, strided, dilated, padded), dense, qnn.add, pools, requantize and clip, with
//! zero points at the edges (0, 255, −128, 127), per-channel weights and every rounding.
#![allow(dead_code)]

use proptest::prelude::*;
use qnn_ir::*;

use super::{tensor, values};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Conv,
    Depthwise,
    Dense,
    Add,
    MaxPool,
    AvgPool,
    GlobalPool,
    Requantize,
    Clip,
}

/// One layer's raw parameters; [`build`] interprets them against the current tensor.
#[derive(Debug, Clone)]
pub struct Layer {
    pub kind: Kind,
    pub out_c: usize,
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
    pub dilation: usize,
    pub group_pick: usize,
    pub weight_u8: bool,
    /// 0: symmetric, 1: an edge value, 2: random per tensor, 3: per channel.
    pub wzp_mode: u8,
    pub bias: bool,
    pub rounding: Rounding,
    pub out_u8: bool,
    pub out_zp_pick: usize,
    pub mult_exp: i32,
    /// 0: none, 1: relu, 2: clip.
    pub clip: u8,
    pub count_include_pad: bool,
    pub seed: u64,
}

/// A random network: input type and zero point, layers.
#[derive(Debug, Clone)]
pub struct Net {
    pub input_u8: bool,
    pub input_zp_pick: usize,
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub layers: Vec<Layer>,
    pub seed: u64,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => Just(Kind::Conv),
        3 => Just(Kind::Depthwise),
        1 => Just(Kind::Dense),
        2 => Just(Kind::Add),
        1 => Just(Kind::MaxPool),
        1 => Just(Kind::AvgPool),
        1 => Just(Kind::GlobalPool),
        1 => Just(Kind::Requantize),
        1 => Just(Kind::Clip),
    ]
}

fn layer() -> impl Strategy<Value = Layer> {
    (
        (kind(), 1usize..=8, 1usize..=3, 1usize..=2, 0usize..=2, 1usize..=2, 0usize..4),
        (any::<bool>(), 0u8..4, any::<bool>(), prop::sample::select(Rounding::ALL.to_vec())),
        (any::<bool>(), 0usize..6, -3i32..=3, 0u8..3, any::<bool>(), any::<u64>()),
    )
        .prop_map(
            |(
                (kind, out_c, kernel, stride, pad, dilation, group_pick),
                (weight_u8, wzp_mode, bias, rounding),
                (out_u8, out_zp_pick, mult_exp, clip, count_include_pad, seed),
            )| Layer {
                kind,
                out_c,
                kernel,
                stride,
                pad,
                dilation,
                group_pick,
                weight_u8,
                wzp_mode,
                bias,
                rounding,
                out_u8,
                out_zp_pick,
                mult_exp,
                clip,
                count_include_pad,
                seed,
            },
        )
}

pub fn net() -> impl Strategy<Value = Net> {
    (
        any::<bool>(),
        0usize..6,
        1usize..=2,
        1usize..=6,
        3usize..=9,
        3usize..=9,
        prop::collection::vec(layer(), 1..=4),
        any::<u64>(),
    )
        .prop_map(|(input_u8, input_zp_pick, n, c, h, w, layers, seed)| Net {
            input_u8,
            input_zp_pick,
            n,
            c,
            h,
            w,
            layers,
            seed,
        })
}

/// A zero point of `dtype`, edges first.
pub(crate) fn zp(dtype: DType, pick: usize, seed: u64) -> i32 {
    let edges: &[i32] = if dtype == DType::U8 { &[0, 255, 128, 1] } else { &[0, -128, 127, -1] };
    match edges.get(pick) {
        Some(&z) => z,
        None => {
            let (lo, hi) = dtype.int_range().unwrap();
            values(1, seed, lo, hi)[0] as i32
        }
    }
}

/// u8 or i8.
pub(crate) fn dtype(u8: bool) -> DType {
    if u8 { DType::U8 } else { DType::I8 }
}

/// The current tensor of the chain.
#[derive(Debug, Clone)]
pub(crate) struct Cur {
    pub(crate) v: ValueId,
    pub(crate) dtype: DType,
    pub(crate) q: QuantParams,
    pub(crate) shape: Vec<usize>,
}

/// Builds the graph and a random input. Layers that do not fit the current tensor (a
/// window larger than the padded input, a 2-D tensor for a pool) are skipped.
pub fn build(net: &Net) -> (Graph, Tensor) {
    let mut b = GraphBuilder::new("random");
    let dt = dtype(net.input_u8);
    let shape = vec![net.n, net.c, net.h, net.w];
    let x = b.input("x", TensorType::new(dt, shape.clone())).unwrap();
    let q = QuantParams::per_tensor(0.05, zp(dt, net.input_zp_pick, net.seed));
    let mut cur = Cur { v: x, dtype: dt, q, shape };
    let mut history: Vec<Cur> = vec![cur.clone()];
    for (i, l) in net.layers.iter().enumerate() {
        if cur.shape.len() != 4 {
            break;
        }
        if let Some(next) = layer_node(&mut b, i, l, &cur, &history) {
            cur = next;
            history.push(cur.clone());
        }
    }
    b.output(cur.v);
    let g = b.finish().unwrap();
    let (lo, hi) = dt.int_range().unwrap();
    let n: usize = history[0].shape.iter().product();
    let mut v = values(n, net.seed ^ 0x5eed, lo, hi);
    for (k, e) in [lo, hi, 0, lo, hi].into_iter().enumerate() {
        if k < v.len() {
            v[k * 7 % n] = e;
        }
    }
    (g, tensor(dt, &history[0].shape, v))
}

/// The requantize after a conv/dense: accumulator scales per channel along `axis`.
fn requant_after(
    b: &mut GraphBuilder,
    name: &str,
    y: ValueId,
    acc_scales: Vec<f32>,
    axis: usize,
    l: &Layer,
    k: usize,
) -> (ValueId, DType, QuantParams) {
    let out_dt = dtype(l.out_u8);
    let mean = acc_scales.iter().sum::<f32>() / acc_scales.len() as f32;
    // An output scale that keeps typical accumulators of K terms inside 8 bits.
    let s_out = mean * (k as f32).sqrt() * 40.0 * 2f32.powi(l.mult_exp);
    let out_q = QuantParams::per_tensor(s_out, zp(out_dt, l.out_zp_pick, l.seed));
    let input = QuantParams::per_axis(acc_scales, vec![0], axis);
    let op =
        Op::QnnRequantize { input, output: out_q.clone(), rounding: l.rounding, out_dtype: out_dt };
    (b.node(name, op, &[y]).unwrap(), out_dt, out_q)
}

fn clip_after(b: &mut GraphBuilder, name: &str, c: Cur, l: &Layer) -> Cur {
    let op = match l.clip {
        1 => Op::QnnRelu { q: c.q.clone() },
        2 => Op::QnnClip { min: -0.3, max: 3.0, q: c.q.clone() },
        _ => return c,
    };
    match b.node(name, op, &[c.v]) {
        Ok(v) => Cur { v, ..c },
        Err(_) => c,
    }
}

fn weights(l: &Layer, n: usize, k: usize) -> (DType, Vec<i64>, QuantParams) {
    let wdt = dtype(l.weight_u8);
    let (lo, hi) = wdt.int_range().unwrap();
    let mut w = values(n * k, l.seed, lo, hi);
    if !w.is_empty() {
        w[0] = lo;
        let last = w.len() - 1;
        w[last] = hi;
    }
    let scales: Vec<f32> = (0..n).map(|o| 0.01 + 0.002 * (o % 5) as f32).collect();
    let zps: Vec<i32> = match l.wzp_mode {
        0 => vec![if wdt == DType::U8 { 128 } else { 0 }],
        1 => vec![zp(wdt, (l.seed % 4) as usize, l.seed)],
        2 => vec![zp(wdt, 9, l.seed)],
        _ => (0..n)
            .map(|o| zp(wdt, (o + l.seed as usize) % 6, l.seed.wrapping_add(o as u64)))
            .collect(),
    };
    let zps = if wdt == DType::I8 && l.wzp_mode == 0 { vec![0] } else { zps };
    (wdt, w, QuantParams::per_axis(scales, zps, 0))
}

fn layer_node(
    b: &mut GraphBuilder,
    i: usize,
    l: &Layer,
    cur: &Cur,
    history: &[Cur],
) -> Option<Cur> {
    let [n, c, h, w] = [cur.shape[0], cur.shape[1], cur.shape[2], cur.shape[3]];
    let name = format!("l{i}");
    match l.kind {
        Kind::Conv | Kind::Depthwise => {
            let (groups, out_c) = if l.kind == Kind::Depthwise {
                (c, c * (1 + l.group_pick % 2))
            } else {
                let divisors: Vec<usize> = (1..=c).filter(|g| c % g == 0).collect();
                let g = divisors[l.group_pick % divisors.len()];
                (g, g * l.out_c.div_ceil(g).max(1))
            };
            let mut k = l.kernel;
            let mut d = l.dilation;
            let fits =
                |k: usize, d: usize| h + 2 * l.pad > d * (k - 1) && w + 2 * l.pad > d * (k - 1);
            if !fits(k, d) {
                d = 1;
            }
            if !fits(k, d) {
                k = 1;
            }
            let attrs = Conv2dAttrs {
                strides: [l.stride; 2],
                padding: [l.pad; 4],
                dilation: [d; 2],
                groups,
                ..Conv2dAttrs::default()
            };
            let cpg = c / groups;
            let (wdt, wv, wq) = weights(l, out_c, cpg * k * k);
            let wt = b.constant(format!("{name}.w"), tensor(wdt, &[out_c, cpg, k, k], wv)).ok()?;
            let op = Op::QnnConv2d { conv: attrs, input: cur.q.clone(), kernel: wq.clone() };
            let mut y = b.node(format!("{name}.conv"), op, &[cur.v, wt]).ok()?;
            if l.bias {
                let bv = values(out_c, l.seed ^ 7, -3000, 3000);
                let bt =
                    b.constant(format!("{name}.b"), tensor(DType::I32, &[out_c, 1, 1], bv)).ok()?;
                y = b.node(format!("{name}.bias"), Op::Add, &[y, bt]).ok()?;
            }
            let s_in = cur.q.scale[0];
            let acc: Vec<f32> = (0..out_c).map(|o| s_in * wq.scale_at(o)).collect();
            let (y, dt, q) = requant_after(b, &format!("{name}.rq"), y, acc, 1, l, cpg * k * k);
            let shape = b.graph().ty(y).shape.clone();
            Some(clip_after(b, &format!("{name}.clip"), Cur { v: y, dtype: dt, q, shape }, l))
        }
        Kind::Dense => {
            let kdim = c * h * w;
            let flat = b
                .node(format!("{name}.flat"), Op::Reshape { shape: vec![n, kdim] }, &[cur.v])
                .ok()?;
            let (wdt, wv, wq) = weights(l, l.out_c, kdim);
            let wt = b.constant(format!("{name}.w"), tensor(wdt, &[l.out_c, kdim], wv)).ok()?;
            let op = Op::QnnDense { input: cur.q.clone(), kernel: wq.clone() };
            let mut y = b.node(format!("{name}.dense"), op, &[flat, wt]).ok()?;
            if l.bias {
                let bv = values(l.out_c, l.seed ^ 9, -3000, 3000);
                let bt =
                    b.constant(format!("{name}.b"), tensor(DType::I32, &[l.out_c], bv)).ok()?;
                y = b.node(format!("{name}.bias"), Op::Add, &[y, bt]).ok()?;
            }
            let acc: Vec<f32> = (0..l.out_c).map(|o| cur.q.scale[0] * wq.scale_at(o)).collect();
            let (y, dt, q) = requant_after(b, &format!("{name}.rq"), y, acc, 1, l, kdim);
            Some(Cur { v: y, dtype: dt, q, shape: vec![n, l.out_c] })
        }
        Kind::Add => {
            let same: Vec<&Cur> =
                history.iter().filter(|o| o.shape == cur.shape && o.dtype == cur.dtype).collect();
            let other = same[l.group_pick % same.len()];
            let out_dt = dtype(l.out_u8);
            let out_q = QuantParams::per_tensor(
                0.03 * 2f32.powi(l.mult_exp.clamp(-1, 1)),
                zp(out_dt, l.out_zp_pick, l.seed),
            );
            let op = Op::QnnAdd {
                lhs: cur.q.clone(),
                rhs: other.q.clone(),
                output: out_q.clone(),
                rounding: l.rounding,
                out_dtype: out_dt,
            };
            let v = b.node(format!("{name}.add"), op, &[cur.v, other.v]).ok()?;
            Some(Cur { v, dtype: out_dt, q: out_q, shape: cur.shape.clone() })
        }
        Kind::MaxPool | Kind::AvgPool => {
            let k = l.kernel.min(h).min(w);
            let pool = Pool2dAttrs {
                kernel: [k, k],
                strides: [l.stride; 2],
                padding: [l.pad.min(k - 1); 4],
                dilation: [1, 1],
                layout: DataLayout::Nchw,
            };
            let op = if l.kind == Kind::MaxPool {
                Op::QnnMaxPool2d { pool }
            } else {
                Op::QnnAvgPool2d {
                    pool,
                    count_include_pad: l.count_include_pad,
                    input: cur.q.clone(),
                    output: cur.q.clone(),
                    rounding: l.rounding,
                    out_dtype: cur.dtype,
                }
            };
            let v = b.node(format!("{name}.pool"), op, &[cur.v]).ok()?;
            let shape = b.graph().ty(v).shape.clone();
            Some(Cur { v, shape, ..cur.clone() })
        }
        Kind::GlobalPool => {
            let op = Op::QnnGlobalAvgPool2d {
                layout: DataLayout::Nchw,
                input: cur.q.clone(),
                output: cur.q.clone(),
                rounding: l.rounding,
                out_dtype: cur.dtype,
            };
            let v = b.node(format!("{name}.gap"), op, &[cur.v]).ok()?;
            Some(Cur { v, shape: vec![n, c, 1, 1], ..cur.clone() })
        }
        Kind::Requantize => {
            let out_dt = dtype(l.out_u8);
            let out_q = QuantParams::per_tensor(
                cur.q.scale[0] * 2f32.powi(l.mult_exp),
                zp(out_dt, l.out_zp_pick, l.seed),
            );
            let op = Op::QnnRequantize {
                input: cur.q.clone(),
                output: out_q.clone(),
                rounding: l.rounding,
                out_dtype: out_dt,
            };
            let v = b.node(format!("{name}.rq"), op, &[cur.v]).ok()?;
            Some(Cur { v, dtype: out_dt, q: out_q, shape: cur.shape.clone() })
        }
        Kind::Clip => {
            let l2 = Layer { clip: 1 + (l.seed % 2) as u8, ..l.clone() };
            Some(clip_after(b, &format!("{name}.clip"), cur.clone(), &l2))
        }
    }
}
