//! Random quantized conv/dense graphs from the fuzzer's bytes, for the differential target:
//! a chain of one to three layers — convolution (grouped, depthwise, strided, dilated,
//! asymmetric padding, batch) or dense — each with optional bias, a requantize in any rounding
//! and an optional ReLU/clip, at every zero point edge (0, 255, −128, 127), per-tensor or
//! per-channel weight parameters, u8 or i8 data and weights — plus its input. Channel and
//! feature counts range past the kernels' tile widths (16, 64) so that every tail is reached.

use arbitrary::{Result, Unstructured};
use qnn_ir::{
    Conv2dAttrs, DType, Graph, GraphBuilder, Op, QuantParams, Rounding, Tensor, TensorType, ValueId,
};

/// The current tensor of the chain.
struct Cur {
    v: ValueId,
    dtype: DType,
    q: QuantParams,
    shape: Vec<usize>,
}

fn dtype(u: &mut Unstructured<'_>) -> Result<DType> {
    Ok(if u.arbitrary()? { DType::U8 } else { DType::I8 })
}

/// A zero point of `d`, an edge value most of the time.
fn zero_point(u: &mut Unstructured<'_>, d: DType) -> Result<i32> {
    let (lo, hi) = d.int_range().unwrap_or((0, 0));
    Ok(match u.int_in_range(0..=5)? {
        0 => lo as i32,
        1 => hi as i32,
        2 => 0.max(lo) as i32,
        3 => (lo + hi + 1) as i32 / 2,
        _ => u.int_in_range(lo..=hi)? as i32,
    })
}

/// Values of `d`: uniform, all at one edge, or alternating edges.
fn values(u: &mut Unstructured<'_>, d: DType, n: usize) -> Result<Vec<i64>> {
    let (lo, hi) = d.int_range().unwrap_or((0, 0));
    let mode = u.int_in_range(0..=5)?;
    let mut seed: u64 = u.arbitrary()?;
    Ok((0..n)
        .map(|i| match mode {
            0 => lo,
            1 => hi,
            2 => [lo, hi][i % 2],
            _ => {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                lo + ((seed >> 33) % (hi - lo + 1) as u64) as i64
            }
        })
        .collect())
}

fn tensor(d: DType, shape: &[usize], v: Vec<i64>) -> Tensor {
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).expect("sized");
    Tensor::from_i64("diff_graph", d, a).expect("in range")
}

/// Weights `[n, k…]` of `shape` with per-tensor or per-channel (axis 0) parameters.
fn weights(u: &mut Unstructured<'_>, shape: &[usize]) -> Result<(Tensor, QuantParams)> {
    let d = dtype(u)?;
    let n = shape[0];
    let len = shape.iter().product();
    let w = tensor(d, shape, values(u, d, len)?);
    let scales: Vec<f32> = (0..n).map(|o| 0.004 + 0.001 * (o % 7) as f32).collect();
    let zps = match u.int_in_range(0..=3)? {
        // Symmetric: the common case, where T3 vanishes.
        0 => vec![if d == DType::U8 { 128 } else { 0 }],
        1 => vec![zero_point(u, d)?],
        _ => (0..n).map(|_| zero_point(u, d)).collect::<Result<_>>()?,
    };
    let q = if u.arbitrary()? {
        QuantParams::per_tensor(scales[0], zps[0])
    } else {
        QuantParams::per_axis(scales, zps, 0)
    };
    Ok((w, q))
}

/// Bias (optional), requantize and clip after an accumulator with `k`-long reductions.
fn epilogue(
    u: &mut Unstructured<'_>,
    b: &mut GraphBuilder,
    name: &str,
    acc: ValueId,
    bias_shape: &[usize],
    acc_scales: Vec<f32>,
    k: usize,
) -> Result<Option<Cur>> {
    let mut y = acc;
    let n = acc_scales.len();
    if u.arbitrary()? {
        let bias = tensor(DType::I32, bias_shape, values(u, DType::I16, n)?);
        let Ok(c) = b.constant(format!("{name}.b"), bias) else { return Ok(None) };
        let Ok(v) = b.node(format!("{name}.bias"), Op::Add, &[y, c]) else { return Ok(None) };
        y = v;
    }
    let out = dtype(u)?;
    let mean = acc_scales.iter().sum::<f32>() / n as f32;
    let s_out = mean * (k as f32).sqrt() * 60.0 * 2f32.powi(u.int_in_range(-4..=4)?);
    let out_q = QuantParams::per_tensor(s_out, zero_point(u, out)?);
    let rounding = *u.choose(&Rounding::ALL)?;
    let input = if u.arbitrary()? {
        QuantParams::per_axis(acc_scales, vec![0], 1)
    } else {
        QuantParams::per_tensor(mean, 0)
    };
    let op = Op::QnnRequantize { input, output: out_q.clone(), rounding, out_dtype: out };
    let Ok(mut v) = b.node(format!("{name}.rq"), op, &[y]) else { return Ok(None) };
    let clip = match u.int_in_range(0..=3)? {
        0 => Some(Op::QnnRelu { q: out_q.clone() }),
        1 => Some(Op::QnnClip { min: -0.5, max: 2.0, q: out_q.clone() }),
        _ => None,
    };
    if let Some(op) = clip
        && let Ok(c) = b.node(format!("{name}.clip"), op, &[v])
    {
        v = c;
    }
    let shape = b.graph().ty(v).shape.clone();
    Ok(Some(Cur { v, dtype: out, q: out_q, shape }))
}

fn conv(
    u: &mut Unstructured<'_>,
    b: &mut GraphBuilder,
    name: &str,
    cur: &Cur,
) -> Result<Option<Cur>> {
    let c = cur.shape[1];
    let (groups, out_c) = match u.int_in_range(0..=3)? {
        // Depthwise, channel multiplier 1 or 2.
        0 => (c, c * u.int_in_range(1..=2)?),
        _ => {
            let divisors: Vec<usize> = (1..=c).filter(|g| c % g == 0).collect();
            let g = *u.choose(&divisors)?;
            (g, g * u.int_in_range(1..=24usize.div_ceil(g).max(1))?)
        }
    };
    let k = [u.int_in_range(1..=5)?, u.int_in_range(1..=5)?];
    let conv = Conv2dAttrs {
        strides: [u.int_in_range(1..=3)?, u.int_in_range(1..=3)?],
        padding: [
            u.int_in_range(0..=3)?,
            u.int_in_range(0..=3)?,
            u.int_in_range(0..=3)?,
            u.int_in_range(0..=3)?,
        ],
        dilation: [u.int_in_range(1..=3)?, u.int_in_range(1..=3)?],
        groups,
        ..Conv2dAttrs::default()
    };
    let cpg = c / groups;
    let (w, wq) = weights(u, &[out_c, cpg, k[0], k[1]])?;
    let Ok(wv) = b.constant(format!("{name}.w"), w) else { return Ok(None) };
    let op = Op::QnnConv2d { conv, input: cur.q.clone(), kernel: wq.clone() };
    // A window that does not fit the padded input is refused by inference: skip the layer.
    let Ok(acc) = b.node(format!("{name}.conv"), op, &[cur.v, wv]) else { return Ok(None) };
    let scales = (0..out_c).map(|o| cur.q.scale[0] * wq.scale_at(o)).collect();
    epilogue(u, b, name, acc, &[out_c, 1, 1], scales, cpg * k[0] * k[1])
}

fn dense(
    u: &mut Unstructured<'_>,
    b: &mut GraphBuilder,
    name: &str,
    cur: &Cur,
) -> Result<Option<Cur>> {
    let rows = cur.shape[0];
    let k: usize = cur.shape[1..].iter().product();
    let x = if cur.shape.len() == 2 {
        cur.v
    } else {
        let Ok(v) = b.node(format!("{name}.flat"), Op::Reshape { shape: vec![rows, k] }, &[cur.v])
        else {
            return Ok(None);
        };
        v
    };
    let n = u.int_in_range(1..=70)?;
    let (w, wq) = weights(u, &[n, k])?;
    let Ok(wv) = b.constant(format!("{name}.w"), w) else { return Ok(None) };
    let op = Op::QnnDense { input: cur.q.clone(), kernel: wq.clone() };
    let Ok(acc) = b.node(format!("{name}.dense"), op, &[x, wv]) else { return Ok(None) };
    let scales = (0..n).map(|o| cur.q.scale[0] * wq.scale_at(o)).collect();
    epilogue(u, b, name, acc, &[n], scales, k)
}

/// A graph and its input, or `None` when the bytes ran out before anything was built.
pub fn graph(u: &mut Unstructured<'_>) -> Result<(Graph, Tensor)> {
    let mut b = GraphBuilder::new("diff");
    let d = dtype(u)?;
    let dense_first = u.ratio(1, 4)?;
    let shape = if dense_first {
        vec![u.int_in_range(1..=13)?, u.int_in_range(1..=80)?]
    } else {
        vec![
            u.int_in_range(1..=2)?,
            u.int_in_range(1..=20)?,
            u.int_in_range(1..=10)?,
            u.int_in_range(1..=10)?,
        ]
    };
    let x = b.input("x", TensorType::new(d, shape.clone())).expect("small input");
    let q = QuantParams::per_tensor(0.05, zero_point(u, d)?);
    let mut cur = Cur { v: x, dtype: d, q, shape: shape.clone() };
    for i in 0..u.int_in_range(1..=3)? {
        let name = format!("l{i}");
        let next = if cur.shape.len() == 4 && !u.ratio(1, 4)? {
            conv(u, &mut b, &name, &cur)?
        } else {
            dense(u, &mut b, &name, &cur)?
        };
        if let Some(n) = next {
            cur = n;
        }
    }
    let _ = cur.dtype;
    b.output(cur.v);
    let g = b.finish().expect("the builder verified every node");
    let n = shape.iter().product();
    let input = tensor(d, &shape, values(u, d, n)?);
    Ok((g, input))
}
