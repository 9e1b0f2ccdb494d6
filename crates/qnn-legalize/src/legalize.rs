//! The pass: decide and lower every QNN op of a graph, recording each decision.

use qnn_ir::backend::registry;
use qnn_ir::{Graph, Node, Op, ValueId};

use crate::analysis::QConv;
use crate::canonicalize::conv::{self, Chosen};
use crate::canonicalize::{
    Rewriter, bias, clip, conv_transpose, dynamic, elementwise, pool, quantize, requantize,
};
use crate::decide::Analysis;
use crate::error::LegalizeError;
use crate::explain::{Explanation, LoweredOp, OpReport, RangeFacts, RejectedReport};
use crate::policy::{DecisionContext, LoweringPolicy};
use crate::record::{ConvRecord, Record, RecordKind};
use crate::target::Target;

/// A legalized graph (core ops only), the explanation of every decision, and the typed
/// record of what each source node became.
#[derive(Debug, Clone)]
pub struct Legalized {
    /// The lowered graph: run unfused on the reference interpreter it is the golden result.
    pub graph: Graph,
    pub explanation: Explanation,
    /// One per source node, in source order (a folded bias `add` is part of its conv's);
    /// every node of `graph` belongs to exactly one. What the runtime builds its fused ops
    /// from.
    pub records: Vec<Record>,
}

/// Lowers every QNN op of `graph` to core ops for `target`, choosing the lowering of each
/// `qnn.conv2d`/`qnn.dense` with `policy` among the candidates range analysis proved safe.
pub fn legalize(
    graph: &Graph,
    target: &Target,
    policy: &dyn LoweringPolicy,
) -> Result<Legalized, LegalizeError> {
    graph.verify()?;
    // Transposed convs become ordinary ones first (see `conv_transpose`).
    let source = graph;
    let rewritten = conv_transpose::rewrite(source)?;
    let graph = rewritten.as_ref().unwrap_or(source);
    let folds = bias::find(graph);
    let mut folded_add = vec![false; graph.nodes.len()];
    folds.values().for_each(|f| folded_add[f.add] = true);
    let mut rw = Rewriter::new(graph)?;
    let mut ex = Explanation {
        graph: graph.name.clone(),
        target: target.name().to_string(),
        backends: target.backends().iter().map(|d| d.name.to_string()).collect(),
        policy: policy.name(),
        ops: Vec::new(),
        other_ops: Vec::new(),
    };
    explain_transposed(&mut ex, source, graph);
    let mut records = Vec::with_capacity(graph.nodes.len());
    let mut committed = 0u64;
    for (i, node) in graph.nodes.iter().enumerate() {
        if folded_add[i] {
            continue;
        }
        let out_name = graph.value(node.output).name.clone();
        let (out_src, y, kind) = match &node.op {
            Op::QnnConv2d { .. } | Op::QnnDense { .. } => {
                let fold = folds.get(&i);
                let bias = fold.map(|f| f.bias.clone());
                // The lowering's result stands for the folded bias add's output, if any.
                let out_src = fold.map_or(node.output, |f| graph.nodes[f.add].output);
                let out_name = graph.value(out_src).name.clone();
                let (y, record) = if graph.constant(node.inputs[1]).is_none() {
                    // Weights computed at run time: no choice to make (see `dynamic`).
                    let (y, r) = dynamic::emit_dynamic(&mut rw, graph, node, bias, &out_name)?;
                    let op = format!("{} (weights computed at run time)", node.op.name());
                    explain_other(&mut ex, &rw, node, op);
                    (y, r)
                } else {
                    let q = QConv::from_node(graph, node, bias)?;
                    let (report, y, r) =
                        lower_conv(&mut rw, &q, target, policy, committed, &out_name)?;
                    committed += if report.lowering == crate::Lowering::Int16Upcast {
                        report.weight_bytes_int16
                    } else {
                        report.weight_bytes_int8
                    };
                    ex.ops.push(report);
                    (y, r)
                };
                (out_src, y, RecordKind::Conv(Box::new(record)))
            }
            op if op.is_qnn() => {
                let (y, kind) = lower_other(&mut rw, node, &out_name)?;
                explain_other(&mut ex, &rw, node, op.name().into());
                (node.output, y, kind)
            }
            _ => {
                let y = rw.copy_node(node)?;
                (node.output, y, RecordKind::Core)
            }
        };
        rw.bind(out_src, y);
        let nodes = rw.take_emitted();
        records.push(Record { source: node.name.clone(), nodes, output: y, kind });
    }
    Ok(Legalized { graph: rw.finish()?, explanation: ex, records })
}

/// Lowers a QNN op other than conv/dense.
fn lower_other(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<(ValueId, RecordKind), LegalizeError> {
    match &node.op {
        Op::QnnRequantize { .. } => requantize::lower_requantize(rw, node, out),
        Op::QnnQuantize { .. } => quantize::lower_quantize(rw, node, out),
        Op::QnnDequantize { .. } => quantize::lower_dequantize(rw, node, out),
        Op::QnnClip { .. } => clip::lower_clip(rw, node, out),
        Op::QnnRelu { .. } => clip::lower_relu(rw, node, out),
        Op::QnnAdd { .. } => elementwise::lower_add(rw, node, out),
        Op::QnnMul { .. } => elementwise::lower_mul(rw, node, out),
        Op::QnnConcatenate { .. } => elementwise::lower_concatenate(rw, node, out),
        Op::QnnAvgPool2d { .. } | Op::QnnGlobalAvgPool2d { .. } => {
            pool::lower_avg_pool(rw, node, out)
        }
        Op::QnnMaxPool2d { .. } => pool::lower_max_pool(rw, node, out),
        other => unreachable!("{} is not a QNN op lowered here", other.name()),
    }
}

/// Lists each transposed conv with what it became: its `dilate` (when the stride is above 1
/// or the padding crops) and the `qnn.conv2d` that gets a decision of its own below.
fn explain_transposed(ex: &mut Explanation, source: &Graph, rewritten: &Graph) {
    for node in &source.nodes {
        let Op::QnnConv2dTranspose { conv, .. } = &node.op else { continue };
        let dilated = rewritten.nodes.iter().any(|n| {
            matches!(n.op, Op::Dilate { .. }) && n.name.starts_with(&format!("{}.", node.name))
        });
        let [sh, sw] = conv.strides;
        let op = if dilated {
            format!(
                "qnn.conv2d_transpose (stride {sh}×{sw}): the input zero point inserted between pixels, then a stride-1 qnn.conv2d with the flipped kernel ({}× the transposed form's MACs)",
                sh * sw
            )
        } else {
            "qnn.conv2d_transpose (stride 1): a qnn.conv2d with the flipped kernel".into()
        };
        let mut emitted = if dilated { vec!["dilate".to_string()] } else { vec![] };
        emitted.push("qnn.conv2d".into());
        ex.other_ops.push(LoweredOp { node: node.name.clone(), op, emitted });
    }
}

/// Lists a lowered op without a decision in the explanation, with the core ops it became.
fn explain_other(ex: &mut Explanation, rw: &Rewriter<'_>, node: &Node, op: String) {
    let emitted = rw.op_names(&rw.since(0));
    ex.other_ops.push(LoweredOp { node: node.name.clone(), op, emitted });
}

/// Decides and emits one conv/dense.
fn lower_conv(
    rw: &mut Rewriter<'_>,
    q: &QConv,
    target: &Target,
    policy: &dyn LoweringPolicy,
    committed: u64,
    out: &str,
) -> Result<(OpReport, ValueId, ConvRecord), LegalizeError> {
    if target.backends().is_empty() {
        let registered = registry::backends().iter().map(|d| d.name).collect::<Vec<_>>();
        return Err(LegalizeError::NoBackend {
            op: q.op.into(),
            node: q.node.clone(),
            target: target.name().into(),
            registered: if registered.is_empty() { "none".into() } else { registered.join(", ") },
        });
    }
    let a = Analysis::new(q, target);
    let rejected: Vec<RejectedReport> = a
        .rejected
        .iter()
        .map(|r| RejectedReport { candidate: r.candidate.describe(), reason: r.reason.clone() })
        .collect();
    if a.candidates.is_empty() {
        let detail =
            rejected.iter().map(|r| format!("{}: {}", r.candidate, r.reason)).collect::<Vec<_>>();
        return Err(LegalizeError::Overflow {
            op: q.op.into(),
            node: q.node.clone(),
            detail: detail.join("; "),
        });
    }
    let ctx = DecisionContext {
        signature: &a.signature,
        target,
        candidates: &a.candidates,
        rejected: &a.rejected,
        weight_bytes_committed: committed,
    };
    let refused = |reason: String| LegalizeError::PolicyRefused {
        op: q.op.into(),
        node: q.node.clone(),
        policy: policy.name(),
        reason,
    };
    let d = policy.decide(&ctx).map_err(refused)?;
    let Some(c) = a.candidates.get(d.choice) else {
        return Err(refused(format!("chose candidate {} of {}", d.choice, a.candidates.len())));
    };
    let chosen = Chosen { backend: c.backend.name, int8_dot: c.int8_dot };
    let (y, record) = match a.fold_of[d.choice] {
        Some(i) => conv::emit_int8(rw, q, &a.folds[i].0, chosen, out)?,
        None => conv::emit_int16(rw, q, &a.fold16, chosen, out)?,
    };
    let report = OpReport {
        node: q.node.clone(),
        op: q.op.into(),
        signature: a.signature.clone(),
        lowering: c.lowering,
        backend: c.backend.name.into(),
        int8_dot: c.int8_dot.map(|d| d.as_str().to_string()),
        operands: [c.operands.0.to_string(), c.operands.1.to_string()],
        data_shift: c.data_shift,
        weight_shift: c.weight_shift,
        t3: c.needs_t3,
        bias_folded: q.has_bias,
        reason: d.reason,
        macs: a.signature.macs,
        weight_bytes_int8: a.signature.weight_count(),
        weight_bytes_int16: 2 * a.signature.weight_count(),
        estimates: d.estimates,
        rejected,
        range: RangeFacts {
            int8_terms: a.plan_ranges(),
            int16: a.int16_range.clone(),
            pair_sums: a.pair_facts(q),
        },
        emitted: rw.op_names(&rw.since(0)),
    };
    Ok((report, y, record))
}
