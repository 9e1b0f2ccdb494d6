//! Constant folding: a node whose inputs are all constants is evaluated once, with the
//! reference kernel, and becomes a constant; nodes no output needs are dropped.
//!
//! A node whose evaluation fails (an integer overflow the reference reports, say) is kept:
//! the compiled model then reports the same error when it runs, as the reference would.

use std::sync::Arc;

use qnn_ir::reference::eval_op;
use qnn_ir::{Graph, Tensor, ValueDef, ValueId};

use crate::error::RuntimeError;

/// A folded graph, and where the ids of the graph it came from went (so that the
/// legalizer's records, which name nodes and values of the lowered graph, still apply).
#[derive(Debug)]
pub(crate) struct Folded {
    pub graph: Graph,
    /// New id of each old value; `None` when it was dropped (dead).
    pub values: Vec<Option<ValueId>>,
    /// New index of each old node; `None` when it was folded into a constant or dropped.
    pub nodes: Vec<Option<usize>>,
}

impl Folded {
    pub(crate) fn value(&self, v: ValueId) -> Option<ValueId> {
        self.values.get(v.index()).copied().flatten()
    }

    pub(crate) fn node(&self, n: usize) -> Option<usize> {
        self.nodes.get(n).copied().flatten()
    }
}

/// `g` with every all-constant node folded and dead nodes removed. Value names and the
/// inputs and outputs are kept; value ids are renumbered.
pub(crate) fn fold_constants(g: &Graph) -> Result<Folded, RuntimeError> {
    let mut defs: Vec<ValueDef> = g.values.iter().map(|v| v.def.clone()).collect();
    let mut keep = vec![true; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        let consts: Option<Vec<Arc<Tensor>>> = n
            .inputs
            .iter()
            .map(|v| match &defs[v.index()] {
                ValueDef::Const(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        let Some(consts) = consts else { continue };
        let args: Vec<&Tensor> = consts.iter().map(|t| t.as_ref()).collect();
        if let Ok(t) = eval_op(&n.op, &args) {
            // The one thing folding could break: a constant's type must be its value's.
            let ty = &g.value(n.output).ty;
            if t.ty() != *ty {
                return Err(RuntimeError::Internal(format!(
                    "folding `{}` gave {}, its value is {ty}",
                    n.name,
                    t.ty()
                )));
            }
            defs[n.output.index()] = ValueDef::Const(Arc::new(t));
            keep[i] = false;
        }
    }
    // Liveness backwards from the outputs.
    let mut live = vec![false; g.values.len()];
    for o in &g.outputs {
        live[o.index()] = true;
    }
    for &i in &g.inputs {
        live[i.index()] = true;
    }
    for (i, n) in g.nodes.iter().enumerate().rev() {
        if !keep[i] || !live[n.output.index()] {
            keep[i] = false;
            continue;
        }
        for v in &n.inputs {
            live[v.index()] = true;
        }
    }
    rebuild(g, defs, &keep, &live)
}

/// The graph with only the kept nodes and live values.
fn rebuild(
    g: &Graph,
    defs: Vec<ValueDef>,
    keep: &[bool],
    live: &[bool],
) -> Result<Folded, RuntimeError> {
    let mut new_id = vec![None; g.values.len()];
    let mut out = Graph { name: g.name.clone(), ..Graph::default() };
    let mut node_index = vec![None; g.nodes.len()];
    let mut next_node = 0;
    for (i, k) in keep.iter().enumerate() {
        if *k {
            node_index[i] = Some(next_node);
            next_node += 1;
        }
    }
    for (i, (v, def)) in g.values.iter().zip(defs).enumerate() {
        if !live[i] {
            continue;
        }
        let def = match def {
            ValueDef::Node(n) => match node_index[n] {
                Some(m) => ValueDef::Node(m),
                None => {
                    return Err(RuntimeError::Internal(format!(
                        "value `{}` is live but its node was dropped",
                        v.name
                    )));
                }
            },
            other => other,
        };
        new_id[i] = Some(ValueId(out.values.len() as u32));
        out.values.push(qnn_ir::Value { name: v.name.clone(), ty: v.ty.clone(), def });
    }
    let map = |v: ValueId| {
        new_id[v.index()]
            .ok_or_else(|| RuntimeError::Internal(format!("value #{} was dropped", v.0)))
    };
    for (i, n) in g.nodes.iter().enumerate() {
        if keep[i] {
            let inputs = n.inputs.iter().map(|&v| map(v)).collect::<Result<Vec<_>, _>>()?;
            out.nodes.push(qnn_ir::Node {
                name: n.name.clone(),
                op: n.op.clone(),
                inputs,
                output: map(n.output)?,
            });
        }
    }
    out.inputs = g.inputs.iter().map(|&v| map(v)).collect::<Result<_, _>>()?;
    out.outputs = g.outputs.iter().map(|&v| map(v)).collect::<Result<_, _>>()?;
    // Valid by construction from a verified graph: nodes kept in order, every input of a
    // kept node live, folded constants of their values' types (checked as they were made).
    // Verifying again (type inference of every node) was a tenth of the optimize phase.
    debug_assert_eq!(out.verify(), Ok(()));
    Ok(Folded { graph: out, values: new_id, nodes: node_index })
}

#[cfg(test)]
mod tests {
    use super::*;
    use qnn_ir::{DType, GraphBuilder, Op, TensorType};

    #[test]
    fn folds_constant_subgraphs_and_drops_dead_nodes() {
        let mut b = GraphBuilder::new("g");
        let x = b.input("x", TensorType::new(DType::I32, [2])).unwrap();
        let c = b.constant("c", Tensor::from_vec(&[2], vec![1i8, 2]).unwrap()).unwrap();
        let c32 = b.node("c32", Op::Cast { to: DType::I32 }, &[c]).unwrap();
        let dead = b.node("dead", Op::Add, &[x, x]).unwrap();
        let _ = dead;
        let y = b.node("y", Op::Add, &[x, c32]).unwrap();
        b.output(y);
        let g = b.finish().unwrap();
        let f = fold_constants(&g).unwrap().graph;
        assert_eq!(f.nodes.len(), 1);
        let c32 = f.find("c32").unwrap();
        assert_eq!(**f.constant(c32).unwrap(), Tensor::from_vec(&[2], vec![1i32, 2]).unwrap());
        assert!(f.find("dead").is_none());
        let x = [Tensor::from_vec(&[2], vec![5i32, 6]).unwrap()];
        assert_eq!(
            qnn_ir::reference::run(&f, &x).unwrap(),
            qnn_ir::reference::run(&g, &x).unwrap()
        );
    }

    #[test]
    fn a_failing_fold_is_left_to_run_time() {
        let mut b = GraphBuilder::new("g");
        let x = b.input("x", TensorType::new(DType::I16, [1])).unwrap();
        let c = b.constant("c", Tensor::from_vec(&[1], vec![20000i16]).unwrap()).unwrap();
        let cc = b.node("cc", Op::Add, &[c, c]).unwrap();
        let y = b.node("y", Op::Add, &[x, cc]).unwrap();
        b.output(y);
        // `cc` overflows i16: inference accepts it, evaluation does not.
        let g = b.finish().unwrap();
        let f = fold_constants(&g).unwrap().graph;
        assert_eq!(f.nodes.len(), 2);
    }
}
