//! What each TFLite operator became, for `qnn inspect`.

use qnn_ir::{Graph, Op, ValueId};

use super::context::{Ctx, OpRef};
use crate::error::TfliteError;

/// One imported operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSummary {
    /// Its index in the subgraph.
    pub index: usize,
    /// Its builtin name (`CONV_2D`, …).
    pub op: String,
    /// The name of its (first) output tensor.
    pub output: String,
    /// The qnn nodes it became (output value names), in order.
    pub qnn_nodes: Vec<String>,
    /// Multiply-accumulates of those nodes (convolutions and matrix products).
    pub macs: u64,
}

pub(super) fn summarize(
    cx: &Ctx<'_>,
    index: usize,
    o: &OpRef<'_>,
) -> Result<OperatorSummary, TfliteError> {
    let output = cx.info(o.output(0)?)?.name;
    let g = cx.b.graph();
    let macs = cx.created.iter().filter_map(|n| cx.b.find(n)).map(|v| node_macs(g, v)).sum();
    Ok(OperatorSummary {
        index,
        op: o.code_name.clone(),
        output,
        qnn_nodes: cx.created.clone(),
        macs,
    })
}

/// MACs of the node producing `v`: output elements × the reduction of each.
fn node_macs(g: &Graph, v: ValueId) -> u64 {
    let Some(node) = g.producer(v) else { return 0 };
    let out = g.ty(node.output).shape.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64));
    let input = |i: usize| node.inputs.get(i).map(|&x| g.ty(x).shape.clone()).unwrap_or_default();
    let reduction = match &node.op {
        Op::QnnConv2d { conv, .. } => {
            let [_, i, kh, kw] = conv.kernel_layout.oihw(&input(1));
            (i as u64).saturating_mul(kh as u64).saturating_mul(kw as u64)
        }
        Op::QnnDense { .. } => input(1).get(1).copied().unwrap_or(0) as u64,
        _ => return 0,
    };
    out.saturating_mul(reduction)
}
