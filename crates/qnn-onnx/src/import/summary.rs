//! Per-node summary of an import (what `qnn inspect` lists): the ONNX node, how it was
//! imported, the ONNX nodes folded into it, the qnn nodes it became and their MACs.

use qnn_ir::{Graph, Op};

use super::context::Importer;
use super::node::{Form, Node};

/// One ONNX node of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSummary {
    /// The node's name (or `#index → output` when it has none).
    pub name: String,
    /// `op_type`, prefixed by the domain when it is not the default one.
    pub op_type: String,
    pub form: Form,
    /// Names of the other ONNX nodes folded into this one (QDQ groups).
    pub fused: Vec<String>,
    /// The qnn nodes it became (output value names), in order.
    pub qnn_nodes: Vec<String>,
    /// Multiply-accumulates of those nodes (convolutions and matrix products).
    pub macs: u64,
}

pub(super) fn summarize(im: &Importer<'_>, index: usize, form: Form) -> NodeSummary {
    let p = &im.m.graph.node[index];
    let n = Node::new(p, index);
    let fused = im
        .qdq
        .fused
        .get(&index)
        .map(|v| v.iter().map(|&j| Node::new(&im.m.graph.node[j], j).label).collect())
        .unwrap_or_default();
    let qnn_nodes = im.created.get(&index).cloned().unwrap_or_default();
    // A DequantizeLinear that only fed QDQ groups never became a node of its own.
    let form = if form == Form::Conversion && qnn_nodes.is_empty() { Form::Folded } else { form };
    let graph = im.b.graph();
    let macs =
        qnn_nodes.iter().filter_map(|name| im.b.find(name)).map(|v| node_macs(graph, v)).sum();
    NodeSummary { name: n.label.clone(), op_type: n.op_type(), form, fused, qnn_nodes, macs }
}

/// MACs of the node defining `v`: output elements × reduction length.
pub fn node_macs(g: &Graph, v: qnn_ir::ValueId) -> u64 {
    let Some(node) = g.producer(v) else { return 0 };
    let out = g.ty(node.output).shape.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64));
    let input = |i: usize| node.inputs.get(i).map(|&x| g.ty(x).shape.clone()).unwrap_or_default();
    let reduction: u64 = match &node.op {
        Op::QnnConv2d { conv, .. } | Op::Conv2d { conv, .. } => {
            let [_, i, kh, kw] = conv.kernel_layout.oihw(&input(1));
            (i as u64).saturating_mul(kh as u64).saturating_mul(kw as u64)
        }
        Op::QnnDense { .. } | Op::Dense => input(1).get(1).copied().unwrap_or(0) as u64,
        Op::MatMul => input(0).last().copied().unwrap_or(0) as u64,
        _ => return 0,
    };
    out.saturating_mul(reduction)
}
