//! The pass: decide and lower every QNN op of a graph.

use qnn_ir::backend::registry;
use qnn_ir::{Graph, Op};

use crate::analysis::QConv;
use crate::canonicalize::{Rewriter, bias, conv, elementwise, pool, requantize};
use crate::decide::Analysis;
use crate::error::LegalizeError;
use crate::explain::{Explanation, LoweredOp, OpReport, RangeFacts, RejectedReport};
use crate::policy::{DecisionContext, LoweringPolicy};
use crate::target::Target;

/// A legalized graph (core ops only) and the explanation of every decision.
#[derive(Debug, Clone)]
pub struct Legalized {
    pub graph: Graph,
    pub explanation: Explanation,
}

/// Lowers every QNN op of `graph` to core ops for `target`, choosing the lowering of each
/// `qnn.conv2d`/`qnn.dense` with `policy` among the candidates range analysis proved safe.
pub fn legalize(
    graph: &Graph,
    target: &Target,
    policy: &dyn LoweringPolicy,
) -> Result<Legalized, LegalizeError> {
    graph.verify()?;
    let folds = bias::find(graph);
    let folded_adds: Vec<usize> = folds.values().map(|f| f.add).collect();
    let mut rw = Rewriter::new(graph)?;
    let mut ex = Explanation {
        graph: graph.name.clone(),
        target: target.name().to_string(),
        backends: target.backends().iter().map(|d| d.name.to_string()).collect(),
        policy: policy.name(),
        ops: Vec::new(),
        other_ops: Vec::new(),
    };
    let mut committed = 0u64;
    for (i, node) in graph.nodes.iter().enumerate() {
        if folded_adds.contains(&i) {
            continue;
        }
        let out_name = graph.value(node.output).name.clone();
        match &node.op {
            Op::QnnConv2d { .. } | Op::QnnDense { .. } => {
                let fold = folds.get(&i);
                let (out_src, out_name) = match fold {
                    Some(f) => {
                        let add_out = graph.nodes[f.add].output;
                        (add_out, graph.value(add_out).name.clone())
                    }
                    None => (node.output, out_name),
                };
                if graph.constant(node.inputs[1]).is_none() {
                    // Weights computed at run time: no choice to make (see `emit_dynamic`).
                    let bias = fold.map(|f| f.bias.clone());
                    let y = conv::emit_dynamic(&mut rw, graph, node, bias, &out_name)?;
                    rw.bind(out_src, y);
                    ex.other_ops.push(LoweredOp {
                        node: node.name.clone(),
                        op: format!("{} (weights computed at run time)", node.op.name()),
                        emitted: rw.take_emitted().into_iter().map(String::from).collect(),
                    });
                    continue;
                }
                let q = QConv::from_node(graph, node, fold.map(|f| f.bias.clone()))?;
                let (report, y) = lower_conv(&mut rw, &q, target, policy, committed, &out_name)?;
                committed += if report.lowering == crate::Lowering::Int16Upcast {
                    report.weight_bytes_int16
                } else {
                    report.weight_bytes_int8
                };
                rw.bind(out_src, y);
                ex.ops.push(report);
            }
            op if op.is_qnn() => {
                let y = match op {
                    Op::QnnRequantize { .. } => {
                        requantize::lower_requantize(&mut rw, node, &out_name)?
                    }
                    Op::QnnQuantize { .. } => requantize::lower_quantize(&mut rw, node, &out_name)?,
                    Op::QnnDequantize { .. } => {
                        requantize::lower_dequantize(&mut rw, node, &out_name)?
                    }
                    Op::QnnClip { .. } => requantize::lower_clip(&mut rw, node, &out_name)?,
                    Op::QnnRelu { .. } => requantize::lower_relu(&mut rw, node, &out_name)?,
                    Op::QnnAdd { .. } => elementwise::lower_add(&mut rw, node, &out_name)?,
                    Op::QnnMul { .. } => elementwise::lower_mul(&mut rw, node, &out_name)?,
                    Op::QnnConcatenate { .. } => {
                        elementwise::lower_concatenate(&mut rw, node, &out_name)?
                    }
                    Op::QnnAvgPool2d { .. } | Op::QnnGlobalAvgPool2d { .. } => {
                        pool::lower_avg_pool(&mut rw, node, &out_name)?
                    }
                    Op::QnnMaxPool2d { .. } => pool::lower_max_pool(&mut rw, node, &out_name)?,
                    other => unreachable!("{} is not a QNN op", other.name()),
                };
                rw.bind(node.output, y);
                ex.other_ops.push(LoweredOp {
                    node: node.name.clone(),
                    op: op.name().into(),
                    emitted: rw.take_emitted().into_iter().map(String::from).collect(),
                });
            }
            _ => {
                rw.copy_node(node)?;
                rw.take_emitted();
            }
        }
    }
    Ok(Legalized { graph: rw.finish()?, explanation: ex })
}

/// Decides and emits one conv/dense.
fn lower_conv(
    rw: &mut Rewriter<'_>,
    q: &QConv,
    target: &Target,
    policy: &dyn LoweringPolicy,
    committed: u64,
    out: &str,
) -> Result<(OpReport, qnn_ir::ValueId), LegalizeError> {
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
    rw.take_emitted();
    let y = match a.fold_of[d.choice] {
        Some(i) => conv::emit_int8(rw, q, &a.folds[i].0, out)?,
        None => conv::emit_int16(rw, q, &a.fold16, out)?,
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
        emitted: rw.take_emitted().into_iter().map(String::from).collect(),
    };
    Ok((report, y))
}
