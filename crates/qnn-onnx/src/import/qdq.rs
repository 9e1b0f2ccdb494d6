//! QDQ form: `DequantizeLinear → op → QuantizeLinear` groups folded into QNN ops the way ONNX
//! Runtime's default (optimized) session folds them, so the import computes what ORT computes.
//!
//! What ORT 1.32 does, checked on single-op models (see the fixtures):
//! * `Relu`/`Clip` feeding only a `QuantizeLinear` whose range they cannot cut (scalar
//!   parameters, `clip_min − q_min ≤ ε` and `q_max − clip_max ≤ ε` in f32, ORT's
//!   `ClipQuantFusion`/`ReluQuantFusion`) are removed first.
//! * `Conv`, `MatMul`, `Gemm` with DQ inputs and a Q output → QLinearConv / QLinearMatMul /
//!   QGemm; `MatMul`/`Gemm` without the Q → float output (MatMulIntegerToFloat, QGemm).
//! * `Add`, `Mul` → QLinearAdd / QLinearMul; `Concat` → QLinearConcat; `AveragePool`,
//!   `GlobalAveragePool`, `LeakyRelu`, `Sigmoid` → their QLinear ops.
//! * `MaxPool`, `Reshape`, `Flatten`, `Transpose`, `Squeeze`, `Unsqueeze` and a `nearest`
//!   `Resize` between a DQ and a Q with equal parameters run on the integers (the Q/DQ pair is
//!   dropped; ORT's `DropQDQNodesRules`); a linear or cubic `Resize` stays float.
//! * `Softmax` → QLinearSoftmax (see `qlinear_softmax`).
//! * Anything else stays float between its `qnn.dequantize` and `qnn.quantize`.

use qnn_ir::{DType, Op, Pool2dAttrs, QuantParams, ValueId};

use super::context::{Dq, Importer, QdqDecisions};
use super::contrib::{
    build_avg_pool, build_binary, build_concat, build_global_avg_pool, build_lookup,
};
use super::float_ops::clip_bounds;
use super::linear::{Operand, Out, build_conv, build_matmul};
use super::lookup::Activation;
use super::node::{Form, Node};
use super::quantize::axis;
use super::window::{spatial, window};
use crate::error::OnnxError;
use crate::onnx_type::OnnxType;

/// Finds the removable `Relu`/`Clip` nodes and double Q/DQ pairs (constants only, before
/// anything is imported).
pub(super) fn decide(im: &Importer<'_>, order: &[usize]) -> Result<QdqDecisions, OnnxError> {
    let mut decided = QdqDecisions::default();
    for &i in order {
        double_qdq(im, i, &mut decided);
    }
    for &i in order {
        let p = &im.m.graph.node[i];
        if !p.domain.is_empty() || !matches!(p.op_type.as_str(), "Relu" | "Clip") {
            continue;
        }
        let n = Node::new(p, i);
        let Some(q) = sole_consumer(im, &n, &decided, false) else { continue };
        let qn = Node::new(&im.m.graph.node[q], q);
        let (min, max) = if p.op_type == "Relu" {
            (0.0f32, f32::MAX)
        } else {
            match clip_bounds(im, &n) {
                Ok((lo, hi)) => (clamp_f32(lo), clamp_f32(hi)),
                Err(_) => continue,
            }
        };
        let Some((lower, upper)) = q_range(im, &qn) else { continue };
        if f32::EPSILON < min - lower || f32::EPSILON < upper - max {
            continue;
        }
        decided.removed.insert(i);
    }
    Ok(decided)
}

fn clamp_f32(v: f64) -> f32 {
    v.clamp(f64::from(f32::MIN), f64::from(f32::MAX)) as f32
}

/// The real range a `QuantizeLinear` can represent, as ORT computes it (scalar f32 scale and
/// scalar u8/i8 zero point, both constants): `scale · (q_min − zp)`, `scale · (q_max − zp)`.
fn q_range(im: &Importer<'_>, qn: &Node<'_>) -> Option<(f32, f32)> {
    let s = im.opt_constant(qn, 1).ok()??;
    let z = im.opt_constant(qn, 2).ok()??;
    if !s.shape.is_empty() || s.ty != OnnxType::FLOAT || !z.shape.is_empty() {
        return None;
    }
    let (scale, zp) = (s.floats()?[0], z.ints()?[0]);
    let (lo, hi) = z.ty.dtype().filter(|d| d.is_8bit())?.int_range()?;
    Some((scale * (lo - zp) as f32, scale * (hi - zp) as f32))
}

/// The only node reading `n`'s output (looking through removed Relu/Clip nodes when
/// `through`), when that output is not a graph output and that node is a `QuantizeLinear`.
fn sole_consumer(
    im: &Importer<'_>,
    n: &Node<'_>,
    decided: &QdqDecisions,
    through: bool,
) -> Option<usize> {
    let mut value = n.p.output.first()?.clone();
    loop {
        if im.graph_outputs.contains(&value) {
            return None;
        }
        let users = im.consumers.get(&value)?;
        let [u] = users[..] else { return None };
        let p = &im.m.graph.node[u];
        if p.input.iter().filter(|s| **s == value).count() != 1 {
            return None;
        }
        if through && decided.removed.contains(&u) {
            value = p.output.first()?.clone();
            continue;
        }
        let q =
            p.domain.is_empty() && p.op_type == "QuantizeLinear" && p.input.first() == Some(&value);
        return q.then_some(u);
    }
}

/// The output `QuantizeLinear` of a group: its node, per-tensor parameters and dtype.
struct QOut {
    node: usize,
    q: QuantParams,
    dtype: DType,
}

fn q_out(im: &Importer<'_>, n: &Node<'_>) -> Option<QOut> {
    let node = sole_consumer(im, n, &im.qdq, true)?;
    let qn = Node::new(&im.m.graph.node[node], node);
    if qn.attrs.int("block_size").ok()?.unwrap_or(0) != 0 {
        return None;
    }
    let dtype = im.zp_dtype(&qn, 2, Some(DType::U8)).ok()?;
    let q = im.qparams(&qn, 1, Some(2), dtype, None).ok()?;
    dtype.is_8bit().then_some(QOut { node, q, dtype })
}

/// Input `i` when it is the output of a `DequantizeLinear` with constant parameters.
fn dq_in(im: &Importer<'_>, n: &Node<'_>, i: usize) -> Option<Dq> {
    im.dq.get(n.input(i)?).map(|d| (**d).clone())
}

fn per_tensor_8bit(d: &Dq) -> bool {
    d.dtype.is_8bit() && d.q.is_per_tensor() && d.q.axis.is_none_or(|_| d.q.channels() == 1)
}

fn operand(im: &mut Importer<'_>, d: &Dq) -> Result<Operand, OnnxError> {
    let value = im.value_of(&d.source)?;
    let q = QuantParams { axis: None, ..d.q.clone() };
    Ok(Operand { value, q: if d.q.channels() == 1 { q } else { d.q.clone() } })
}

/// Folds `n` with its DQ inputs and Q output when ORT would; `Ok(None)` when it does not
/// apply (the node is then imported as a float op).
pub(super) fn try_fuse(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Option<Form>, OnnxError> {
    if !n.p.domain.is_empty() {
        return Ok(None);
    }
    let op = n.op();
    let anchors = [
        "Conv",
        "ConvTranspose",
        "MatMul",
        "Gemm",
        "Add",
        "Mul",
        "AveragePool",
        "GlobalAveragePool",
        "LeakyRelu",
        "Sigmoid",
        "Softmax",
        "Concat",
        "MaxPool",
        "Reshape",
        "Flatten",
        "Transpose",
        "Squeeze",
        "Unsqueeze",
        "Resize",
    ];
    if !anchors.contains(&op) {
        return Ok(None);
    }
    let q = q_out(im, n);
    let out_name = |q: &QOut| im.m.graph.node[q.node].output.first().cloned().unwrap_or_default();
    let (value, q) = match op {
        "Conv" => {
            let (Some(x), Some(w), Some(q)) = (dq_in(im, n, 0), dq_in(im, n, 1), q) else {
                return Ok(None);
            };
            let bias = match n.input(2) {
                None => None,
                Some(_) => match dq_in(im, n, 2) {
                    Some(b) if b.dtype == DType::I32 => Some(b),
                    _ => return Ok(None),
                },
            };
            if !per_tensor_8bit(&x)
                || !w.dtype.is_8bit()
                || w.q.axis.is_some_and(|a| a != 0 && w.q.channels() > 1)
            {
                return Ok(None);
            }
            n.arity(2, 3, 1)?;
            let (xo, wo) = (operand(im, &x)?, operand(im, &w)?);
            let wo = Operand {
                q: QuantParams { axis: (wo.q.channels() > 1).then_some(0), ..wo.q },
                ..wo
            };
            let b = bias.map(|b| im.value_of(&b.source)).transpose()?;
            let name = out_name(&q);
            let out = Out::Requant { q: q.q.clone(), dtype: q.dtype };
            (build_conv(im, n, xo, wo, b, &out, &name)?, Some(q))
        }
        "ConvTranspose" => {
            // ORT runs it in float between the DQs and the Q (see `conv_transpose`).
            let (Some(x), Some(w), Some(q)) = (dq_in(im, n, 0), dq_in(im, n, 1), q) else {
                return Ok(None);
            };
            let bias = match n.input(2) {
                None => None,
                Some(_) => match dq_in(im, n, 2) {
                    Some(b) if b.dtype == DType::I32 => Some(b),
                    _ => return Ok(None),
                },
            };
            if !per_tensor_8bit(&x)
                || !w.dtype.is_8bit()
                || w.q.axis.is_some_and(|a| a != 1 && w.q.channels() > 1)
            {
                return Ok(None);
            }
            n.arity(2, 3, 1)?;
            let (xo, wo) = (operand(im, &x)?, operand(im, &w)?);
            let b = match bias {
                Some(b) => Some((im.value_of(&b.source)?, b.q.clone())),
                None => None,
            };
            let name = out_name(&q);
            let out = Out::Requant { q: q.q.clone(), dtype: q.dtype };
            (super::conv_transpose::build(im, n, xo, wo, b, &out, &name)?, Some(q))
        }
        "MatMul" | "Gemm" => {
            let (Some(a), Some(b)) = (dq_in(im, n, 0), dq_in(im, n, 1)) else { return Ok(None) };
            let gemm = op == "Gemm";
            let bias = match n.input(2).filter(|_| gemm) {
                None => None,
                Some(_) => match dq_in(im, n, 2) {
                    Some(c) if c.dtype == DType::I32 => Some(c),
                    _ => return Ok(None),
                },
            };
            let (alpha, trans_a, trans_b) = if gemm {
                // With a bias ORT folds only alpha = beta = 1 (checked on ORT 1.32).
                let (a, b) = (n.attrs.float_or("alpha", 1.0)?, n.attrs.float_or("beta", 1.0)?);
                if bias.is_some() && (a != 1.0 || b != 1.0) {
                    return Ok(None);
                }
                (
                    n.attrs.float_or("alpha", 1.0)?,
                    n.attrs.flag("transA", false)?,
                    n.attrs.flag("transB", false)?,
                )
            } else {
                (1.0, false, false)
            };
            let b_value = im.value_of(&b.source)?;
            let b_rank = im.ty(b_value).rank();
            // Per-column parameters run along N: B's last axis, or axis 0 of a transposed B.
            let n_axis = if trans_b { 0 } else { b_rank.saturating_sub(1) };
            let b_axis_ok = b.q.channels() == 1 || b.q.axis == Some(n_axis);
            if !per_tensor_8bit(&a) || !b.dtype.is_8bit() || !b_axis_ok {
                return Ok(None);
            }
            let mut ao = operand(im, &a)?;
            let name = match &q {
                Some(q) => out_name(q),
                None => n.output(0)?.to_string(),
            };
            if trans_a {
                ao.value = im.emit(
                    n,
                    &format!("{name}/aT"),
                    Op::Transpose { perm: vec![1, 0] },
                    &[ao.value],
                )?;
            }
            let bq = QuantParams { axis: (b.q.channels() > 1).then_some(0), ..b.q.clone() };
            let c = bias.map(|c| im.value_of(&c.source)).transpose()?;
            let out = match &q {
                Some(q) => Out::Requant { q: q.q.clone(), dtype: q.dtype },
                None => Out::Float,
            };
            let source = b.source.clone();
            (build_matmul(im, n, ao, &source, bq, trans_b, c, alpha, &out, &name)?, q)
        }
        "Add" | "Mul" => {
            let (Some(a), Some(b), Some(q)) = (dq_in(im, n, 0), dq_in(im, n, 1), q) else {
                return Ok(None);
            };
            if !per_tensor_8bit(&a)
                || !per_tensor_8bit(&b)
                || a.dtype != b.dtype
                || q.dtype != a.dtype
            {
                return Ok(None);
            }
            let (ao, bo) = (operand(im, &a)?, operand(im, &b)?);
            let name = out_name(&q);
            (build_binary(im, n, op == "Mul", ao, bo, q.q.clone(), q.dtype, &name)?, Some(q))
        }
        "AveragePool" | "GlobalAveragePool" | "LeakyRelu" | "Sigmoid" | "Softmax" => {
            let (Some(x), Some(q)) = (dq_in(im, n, 0), q) else { return Ok(None) };
            if !per_tensor_8bit(&x) || q.dtype != x.dtype {
                return Ok(None);
            }
            let xo = operand(im, &x)?;
            let name = out_name(&q);
            let v = match op {
                // ORT fuses the group into QLinearSoftmax (the node's opset as its own).
                "Softmax" => {
                    let (scale, opset) = (xo.q.scale[0], im.m.opset);
                    super::qlinear_softmax::build(im, n, xo.value, scale, &q.q, opset, &name)?
                }
                "AveragePool" => {
                    n.arity(1, 1, 1)?;
                    build_avg_pool(im, n, xo, q.q.clone(), q.dtype, false, &name)?
                }
                "GlobalAveragePool" => {
                    build_global_avg_pool(im, n, xo, q.q.clone(), q.dtype, false, &name)?
                }
                "LeakyRelu" => {
                    let alpha = n.attrs.float_or("alpha", 0.01)?;
                    build_lookup(
                        im,
                        n,
                        xo,
                        q.q.clone(),
                        q.dtype,
                        Activation::LeakyRelu(alpha),
                        &name,
                    )?
                }
                _ => build_lookup(im, n, xo, q.q.clone(), q.dtype, Activation::Sigmoid, &name)?,
            };
            (v, Some(q))
        }
        "Concat" => {
            let Some(q) = q else { return Ok(None) };
            n.arity(1, usize::MAX, 1)?;
            let mut xs = Vec::new();
            for i in 0..n.p.input.len() {
                match dq_in(im, n, i) {
                    Some(d) if per_tensor_8bit(&d) && d.dtype == q.dtype => xs.push(d),
                    _ => return Ok(None),
                }
            }
            let ops = xs.iter().map(|d| operand(im, d)).collect::<Result<Vec<_>, _>>()?;
            let rank = im.ty(ops[0].value).rank();
            let ax = axis(
                n,
                "axis",
                n.attrs.int("axis")?.ok_or_else(|| n.attrs.error("axis", "is required"))?,
                rank,
            )?;
            let name = out_name(&q);
            (build_concat(im, n, ops, q.q.clone(), q.dtype, ax, &name)?, Some(q))
        }
        "MaxPool" | "Reshape" | "Flatten" | "Transpose" | "Squeeze" | "Unsqueeze" | "Resize" => {
            let (Some(x), Some(q)) = (dq_in(im, n, 0), q) else { return Ok(None) };
            if !per_tensor_8bit(&x) || x.dtype != q.dtype || x.q != q.q {
                return Ok(None);
            }
            // ORT drops the pair around a nearest Resize only; linear and cubic stay float.
            if op == "Resize" && n.attrs.string("mode")?.is_some_and(|m| m != "nearest") {
                return Ok(None);
            }
            let src = im.value_of(&x.source)?;
            let name = out_name(&q);
            (drop_qdq(im, n, src, &name)?, Some(q))
        }
        _ => return Ok(None),
    };
    let mut fused: Vec<usize> = (0..n.p.input.len())
        .filter_map(|i| n.input(i))
        .filter_map(|s| im.dq.get(s).map(|d| d.node))
        .collect();
    match q {
        Some(q) => {
            let qname = out_name(&q);
            im.qdq.absorbed.insert(q.node);
            fused.push(q.node);
            im.bind(&qname, value);
        }
        None => im.bind(n.output(0)?, value),
    }
    im.qdq.fused.insert(n.index, fused);
    Ok(Some(Form::Qdq))
}

/// A data-movement op on the integers of its DQ input.
fn drop_qdq(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: ValueId,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let shape = im.ty(x).shape;
    let op = match n.op() {
        "Resize" => return super::resize::build(im, n, x, name),
        "MaxPool" => {
            n.arity(1, 1, 1)?;
            if n.attrs.int_or("storage_order", 0)? != 0 {
                return Err(n.attrs.error("storage_order", "only 0 (row major) is supported"));
            }
            let w = window(n, spatial(n, &shape, false)?, None, true)?;
            Op::QnnMaxPool2d {
                pool: Pool2dAttrs {
                    kernel: w.kernel,
                    strides: w.strides,
                    padding: w.padding,
                    dilation: w.dilation,
                    layout: qnn_ir::DataLayout::Nchw,
                },
            }
        }
        "Transpose" => {
            let perm = match n.attrs.ints("perm")? {
                None => (0..shape.len()).rev().collect(),
                Some(p) => {
                    p.iter().map(|&a| axis(n, "perm", a, shape.len())).collect::<Result<_, _>>()?
                }
            };
            Op::Transpose { perm }
        }
        _ => Op::Reshape { shape: super::folding::reshaped(im, n, &shape)? },
    };
    im.emit(n, name, op, &[x])
}

/// The single consumer of output 0 of node `i`, when that output is not a graph output.
fn single_edge(im: &Importer<'_>, i: usize) -> Option<usize> {
    let out = im.m.graph.node[i].output.first()?;
    if im.graph_outputs.contains(out) {
        return None;
    }
    match im.consumers.get(out).map(Vec::as_slice) {
        // One edge: one consumer reading the value once.
        Some([c]) if im.m.graph.node[*c].input.iter().filter(|s| *s == out).count() == 1 => {
            Some(*c)
        }
        _ => None,
    }
}

/// Scalar constant (scale, zero point, zero point type) of a Q or DQ node.
fn scalar_params(im: &Importer<'_>, i: usize) -> Option<(f32, i64, OnnxType)> {
    let n = Node::new(&im.m.graph.node[i], i);
    let s = im.opt_constant(&n, 1).ok()??;
    let z = im.opt_constant(&n, 2).ok()??;
    if s.len() != 1 || z.len() != 1 || s.ty != OnnxType::FLOAT {
        return None;
    }
    Some((s.floats()?[0], z.ints()?[0], z.ty))
}

/// ORT's `DoubleQDQPairsRemover`: `Q1 → DQ1 → Q2 → DQ2` (each pair with equal scalar
/// parameters, the middle nodes single-use) keeps only `Q1 → DQ2`, both with parameters that
/// cover the intersection of the two real ranges:
/// `scale = (max − min) / (q_max − q_min)`, `zp = round(q_min − min / scale)` in f32.
fn double_qdq(im: &Importer<'_>, dq1: usize, decided: &mut QdqDecisions) {
    let nodes = &im.m.graph.node;
    let is = |i: usize, op: &str| nodes[i].domain.is_empty() && nodes[i].op_type == op;
    if !is(dq1, "DequantizeLinear") || decided.removed.contains(&dq1) {
        return;
    }
    let Some(src) = nodes[dq1].input.first() else { return };
    let Some(&q1) = im.producers.get(src) else { return };
    let (Some(q2), Some(_)) = (single_edge(im, dq1), single_edge(im, q1)) else { return };
    if !is(q1, "QuantizeLinear")
        || !is(q2, "QuantizeLinear")
        || nodes[q2].input.first() != nodes[dq1].output.first()
    {
        return;
    }
    let Some(dq2) = single_edge(im, q2) else { return };
    if !is(dq2, "DequantizeLinear") {
        return;
    }
    let p: Vec<_> = [q1, dq1, q2, dq2].iter().map(|&i| scalar_params(im, i)).collect();
    let [Some(p1), Some(d1), Some(p2), Some(d2)] = p[..] else { return };
    if p1 != d1 || p2 != d2 || p1.2 != p2.2 {
        return;
    }
    let (lo, hi) = match p1.2 {
        OnnxType::UINT8 => (0i64, 255i64),
        OnnxType::INT8 => (-128, 127),
        _ => return,
    };
    decided.removed.extend([dq1, q2]);
    let ((s1, z1, _), (s2, z2, _)) = (p1, p2);
    if z1 == z2 && (s1 - s2).abs() < 1e-20 {
        return;
    }
    let real_min = (((lo - z1) as f32) * s1).max(((lo - z2) as f32) * s2);
    let real_max = (((hi - z1) as f32) * s1).min(((hi - z2) as f32) * s2);
    let scale = (real_max - real_min) / (hi - lo) as f32;
    let zp = (lo as f32 - real_min / scale).round() as i32;
    // C++'s narrowing of the zero point to the 8-bit type.
    let zp = if lo == 0 { i32::from(zp as u8) } else { i32::from(zp as i8) };
    decided.params.insert(q1, (scale, zp));
    decided.params.insert(dq2, (scale, zp));
}
