//! Chains of a graph that arrived already lowered: core conv/dense ops with no legalizer
//! record ([`Compiler::compile_lowered`](crate::Compiler::compile_lowered), a printed lowered
//! graph parsed back, core ops built by hand or copied through legalization). Only here is
//! the canonical lowered form recognized in the graph, by
//! [`qnn_legalize::pattern::match_fused_conv`].

use qnn_ir::backend::ConvGeometry;
use qnn_ir::{Graph, Op, ValueDef, ValueId};
use qnn_legalize::analysis::ConvForm;
use qnn_legalize::match_fused_conv;
use qnn_legalize::pattern::{FusedConv, FusedOp, FusedRequantize};
use qnn_legalize::record::RequantizeParams;

use super::chain::{ConvChain, ohwi};

/// The chain around each core conv/dense node of `nodes` that has the canonical form.
pub(crate) fn chains(g: &Graph, nodes: impl IntoIterator<Item = usize>) -> Vec<ConvChain> {
    nodes.into_iter().filter_map(|i| match_fused_conv(g, i)).filter_map(|f| chain(g, f)).collect()
}

/// The chain a match describes.
fn chain(g: &Graph, f: FusedConv) -> Option<ConvChain> {
    let core = &g.nodes[f.conv_node];
    let operand = core.inputs[0];
    let form = match &f.op {
        FusedOp::Conv2d(a) => ConvForm::Conv2d(a.clone()),
        FusedOp::Dense => ConvForm::Dense,
    };
    let geometry = geometry(g, &form, operand, f.weights)?;
    let weights = ohwi(g.constant(f.weights)?, &form).ok()?;
    // The match's nodes: the prologue (what the operand depends on), the body, then the
    // requantize and clip ending at its output.
    let prologue = ancestors_within(g, operand, &f.nodes);
    let clip = f.clip.map(|b| (b, producer(g, f.output)));
    let rq_out = clip.map_or(f.output, |(_, n)| g.nodes[n].inputs[0]);
    let requantize = f.requantize.clone().map(|r| (params(r), producer(g, rq_out)));
    let body_output = requantize.as_ref().map_or(rq_out, |(_, n)| g.nodes[*n].inputs[0]);
    let tail: Vec<usize> = requantize.iter().map(|r| r.1).chain(clip.map(|c| c.1)).collect();
    let body = f.nodes.iter().copied().filter(|n| !prologue.contains(n) && !tail.contains(n));
    Some(ConvChain {
        form,
        geometry,
        lowering: f.lowering,
        backend: None,
        input: f.input,
        input_offset: f.input_offset,
        body: body.collect(),
        prologue,
        operand,
        operands: (f.operand_dtype, f.weight_dtype),
        pad_value: f.pad_value,
        weights,
        channel_constant: f.channel_constant,
        t3_zero_points: f.weight_zero_points,
        core: f.conv_node,
        body_output,
        requantize,
        clip,
    })
}

fn params(r: FusedRequantize) -> RequantizeParams {
    RequantizeParams {
        scale: r.scale,
        axes: r.axes,
        input_zero_point: r.input_zero_point,
        output_zero_point: r.output_zero_point,
        out_dtype: r.out_dtype,
    }
}

/// The node defining `v` (a node output of the match).
fn producer(g: &Graph, v: ValueId) -> usize {
    match g.value(v).def {
        ValueDef::Node(i) => i,
        _ => unreachable!("a matched value is a node output"),
    }
}

/// The nodes of `within` that `v` depends on (its producers, transitively, inside the set).
fn ancestors_within(g: &Graph, v: ValueId, within: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        if let ValueDef::Node(i) = g.value(v).def
            && within.contains(&i)
            && !out.contains(&i)
        {
            out.push(i);
            stack.extend(g.nodes[i].inputs.iter().copied());
        }
    }
    out.sort_unstable();
    out
}

/// NHWC geometry of the conv/dense reading `x` with weights `w`.
fn geometry(g: &Graph, form: &ConvForm, x: ValueId, w: ValueId) -> Option<ConvGeometry> {
    let xs = &g.ty(x).shape;
    let ws = &g.ty(w).shape;
    match form {
        ConvForm::Conv2d(a) => {
            if xs.len() != 4 || ws.len() != 4 {
                return None;
            }
            let [n, c, h, w] = a.data_layout.nchw(xs);
            let [o, _, kh, kw] = a.kernel_layout.oihw(ws);
            Some(ConvGeometry {
                batch: n,
                in_h: h,
                in_w: w,
                in_c: c,
                out_c: o,
                kernel: [kh, kw],
                strides: a.strides,
                padding: a.padding,
                dilation: a.dilation,
                groups: a.groups,
            })
        }
        ConvForm::Dense => {
            let (&k, lead) = xs.split_last()?;
            let n = *ws.first()?;
            Some(ConvGeometry::dense(lead.iter().product(), k, n))
        }
    }
}

/// Whether `op` is a core conv/dense (the ops a chain is built around).
pub(crate) fn is_core_conv(op: &Op) -> bool {
    matches!(op, Op::Conv2d { .. } | Op::Dense)
}
