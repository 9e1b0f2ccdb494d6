//! Folding a bias into conv/dense: importers express the bias of `qnn.conv2d`/`qnn.dense` as
//! a following core `add` of a constant i32 per-channel tensor. When the conv's output feeds
//! only that add (and is not a graph output), the bias joins the per-channel constant of the
//! int8 lowering (or the bias add of the int16 lowering) and the add disappears.

use std::collections::HashMap;

use qnn_ir::{DType, Graph, Op};

use crate::analysis::per_channel_values;

/// A bias add folded into the conv/dense before it.
#[derive(Debug, Clone)]
pub(crate) struct BiasFold {
    /// Index of the `add` node.
    pub add: usize,
    pub bias: Vec<i64>,
}

/// Conv/dense node index → its folded bias.
pub(crate) fn find(g: &Graph) -> HashMap<usize, BiasFold> {
    let users = g.users();
    let mut out = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let channel_axis = match &n.op {
            Op::QnnConv2d { conv, .. } => conv.data_layout.channel_axis(),
            Op::QnnDense { .. } => g.ty(n.output).rank() - 1,
            _ => continue,
        };
        let v = n.output;
        if g.outputs.contains(&v) {
            continue;
        }
        let [j] = users[v.index()][..] else { continue };
        let add = &g.nodes[j];
        if add.op != Op::Add || add.inputs.len() != 2 {
            continue;
        }
        let other = match (add.inputs[0] == v, add.inputs[1] == v) {
            (true, false) => add.inputs[1],
            (false, true) => add.inputs[0],
            _ => continue,
        };
        let Some(t) = g.constant(other) else { continue };
        if t.dtype() != DType::I32 {
            continue;
        }
        let out_shape = &g.ty(v).shape;
        if let Some(bias) = per_channel_values(t, out_shape, channel_axis) {
            out.insert(i, BiasFold { add: j, bias });
        }
    }
    out
}
