//! `qnn.conv2d_transpose` → `dilate` + `qnn.conv2d`, before anything is decided.
//!
//! A transposed convolution with stride `s` is an ordinary stride-1 convolution of the input
//! with `s − 1` cells inserted between neighbouring pixels, padded by `d·(k − 1) − pad` on
//! each side (plus `output_padding` at the end), with the kernel flipped in both spatial axes
//! and its channel axes swapped per group. The inserted and padded cells hold the input zero
//! point `a`, so they add `(a − a)·w = 0`: exact in integers, and the zero-point terms of both
//! lowerings stay exact. The equivalent `qnn.conv2d` then gets the usual candidates, range
//! proofs, policy decision and kernels on every backend. It costs `s_h·s_w` times the MACs
//! of the transposed form (most of the products meet an inserted cell).

use std::collections::HashSet;
use std::sync::Arc;

use ndarray::{Array4, ArrayD};
use qnn_ir::{
    Conv2dAttrs, ConvTranspose2dAttrs, DataLayout, DilateAttrs, Graph, KernelLayout, Node, Op,
    Tensor, Value, ValueDef, ValueId, infer_type,
};

use super::unsupported;
use crate::error::LegalizeError;

/// `graph` with every `qnn.conv2d_transpose` rewritten, or `None` when it has none.
pub(crate) fn rewrite(graph: &Graph) -> Result<Option<Graph>, LegalizeError> {
    if !graph.nodes.iter().any(|n| matches!(n.op, Op::QnnConv2dTranspose { .. })) {
        return Ok(None);
    }
    let mut g = Graph { nodes: Vec::with_capacity(graph.nodes.len() + 4), ..graph.clone() };
    let mut names: HashSet<String> = graph.values.iter().map(|v| v.name.clone()).collect();
    for node in &graph.nodes {
        let Op::QnnConv2dTranspose { conv, input, kernel } = &node.op else {
            g.values[node.output.index()].def = ValueDef::Node(g.nodes.len());
            g.nodes.push(node.clone());
            continue;
        };
        let eq = equivalent(graph, node, conv)?;
        let mut add = |g: &mut Graph, stem: &str, def: ValueDef, op: Option<(Op, Vec<ValueId>)>| {
            let mut name = format!("{}.{stem}", node.name);
            while !names.insert(name.clone()) {
                name.push('_');
            }
            let ty = match (&def, &op) {
                (ValueDef::Const(t), _) => t.ty(),
                (_, Some((op, ins))) => {
                    let tys: Vec<_> = ins.iter().map(|&v| g.ty(v)).collect();
                    infer_type(op, &tys).map_err(|e| e.in_node(&name))?
                }
                _ => unreachable!("a value is a constant or a node"),
            };
            let id = ValueId(g.values.len() as u32);
            g.values.push(Value { name: name.clone(), ty, def });
            if let Some((op, inputs)) = op {
                g.nodes.push(Node { name, op, inputs, output: id });
            }
            Ok::<_, LegalizeError>(id)
        };
        let w = add(&mut g, "kernel_oihw", ValueDef::Const(eq.weights), None)?;
        let mut x = node.inputs[0];
        if let Some(d) = eq.dilate {
            let def = ValueDef::Node(g.nodes.len());
            x = add(&mut g, "dilated", def, Some((Op::Dilate { dilate: d }, vec![x])))?;
        }
        let op = Op::QnnConv2d { conv: eq.conv, input: input.clone(), kernel: kernel.clone() };
        let ty = infer_type(&op, &[g.ty(x), g.ty(w)]).map_err(|e| e.in_node(&node.name))?;
        if &ty != graph.ty(node.output) {
            return Err(unsupported(
                node,
                format!("its equivalent convolution gives {ty:?}, not {:?}", graph.ty(node.output)),
            ));
        }
        g.values[node.output.index()].def = ValueDef::Node(g.nodes.len());
        g.nodes.push(Node { name: node.name.clone(), op, inputs: vec![x, w], output: node.output });
    }
    g.verify()?;
    Ok(Some(g))
}

/// The stride-1 convolution equal to one transposed convolution.
struct Equivalent {
    dilate: Option<DilateAttrs>,
    conv: Conv2dAttrs,
    weights: Arc<Tensor>,
}

fn equivalent(
    graph: &Graph,
    node: &Node,
    c: &ConvTranspose2dAttrs,
) -> Result<Equivalent, LegalizeError> {
    let x = graph.ty(node.inputs[0]);
    let Some(wt) = graph.constant(node.inputs[1]) else {
        return Err(LegalizeError::NonConstantWeights {
            op: node.op.name().into(),
            node: node.name.clone(),
            value: graph.value(node.inputs[1]).name.clone(),
        });
    };
    let [kc, mg, kh, kw] = wt.shape()[..] else { unreachable!("inference checked rank 4") };
    let extent = [x.shape[2], x.shape[3]];
    let kernel = [kh, kw];
    // Per side: the padding of the equivalent conv (≥ 0) or the crop of the dilated input.
    let (mut pad, mut crop) = ([0usize; 4], [0usize; 4]);
    for a in 0..2 {
        let reach = (c.dilation[a] * (kernel[a] - 1)) as i64;
        let before = reach - c.padding[a] as i64;
        let after = reach - c.padding[a + 2] as i64 + c.output_padding[a] as i64;
        for (side, v) in [(a, before), (a + 2, after)] {
            if v >= 0 {
                pad[side] = v as usize;
            } else {
                crop[side] = v.unsigned_abs() as usize;
            }
        }
        let dilated = c.strides[a] * (extent[a] - 1) + 1;
        if crop[a] + crop[a + 2] >= dilated {
            return Err(unsupported(
                node,
                format!(
                    "padding {:?} removes every input row or column of the {}×{} input",
                    c.padding, extent[0], extent[1]
                ),
            ));
        }
    }
    let dilate = (c.strides != [1, 1] || crop != [0; 4]).then_some(DilateAttrs {
        strides: c.strides,
        crop,
        value: match &node.op {
            Op::QnnConv2dTranspose { input, .. } => input.zero_point_at(0),
            _ => unreachable!("called on a transposed conv"),
        },
        layout: DataLayout::Nchw,
    });
    let w = wt.to_i64().expect("inference checked 8-bit weights");
    let g = c.groups;
    let cg = kc / g;
    // W'[g·M/G + m, c, r, s] = W[g·C/G + c, m, kh − 1 − r, kw − 1 − s].
    let flipped = Array4::from_shape_fn((mg * g, cg, kh, kw), |(o, ci, r, s)| {
        let (grp, m) = (o / mg, o % mg);
        w[[grp * cg + ci, m, kh - 1 - r, kw - 1 - s]]
    });
    let weights = Tensor::from_i64(node.op.name(), wt.dtype(), ArrayD::from(flipped.into_dyn()))?;
    Ok(Equivalent {
        dilate,
        conv: Conv2dAttrs {
            strides: [1, 1],
            padding: pad,
            dilation: c.dilation,
            groups: g,
            data_layout: DataLayout::Nchw,
            kernel_layout: KernelLayout::Oihw,
        },
        weights: Arc::new(weights),
    })
}
