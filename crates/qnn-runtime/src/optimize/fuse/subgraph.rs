//! The nodes a fused or typed step replaces, as a graph of their own: what runs on the
//! reference interpreter when no kernel takes the step.

use std::collections::HashMap;

use qnn_ir::{Graph, GraphBuilder, IrError, ValueId};

/// The graph of `nodes` of `g` (sorted, so in order) from `inputs` to `output`, with the
/// constants they read.
pub(crate) fn subgraph(
    g: &Graph,
    nodes: &[usize],
    inputs: &[ValueId],
    output: ValueId,
) -> Result<Graph, IrError> {
    let first = nodes.first().map_or("step", |&n| g.nodes[n].name.as_str());
    let mut b = GraphBuilder::new(format!("{first} (unfused)"));
    let mut map = HashMap::new();
    for &input in inputs {
        if let std::collections::hash_map::Entry::Vacant(e) = map.entry(input) {
            let x = g.value(input);
            e.insert(b.input(x.name.clone(), x.ty.clone())?);
        }
    }
    for &n in nodes {
        let node = &g.nodes[n];
        let mut ins = Vec::with_capacity(node.inputs.len());
        for &v in &node.inputs {
            let id = match (map.get(&v), g.constant(v)) {
                (Some(&id), _) => id,
                (None, Some(t)) => {
                    let id = b.constant(g.value(v).name.clone(), t.clone())?;
                    map.insert(v, id);
                    id
                }
                (None, None) => {
                    return Err(IrError::Undefined {
                        node: node.name.clone(),
                        value: g.value(v).name.clone(),
                    });
                }
            };
            ins.push(id);
        }
        let y = b.node(g.value(node.output).name.clone(), node.op.clone(), &ins)?;
        map.insert(node.output, y);
    }
    let y = map.get(&output).copied().ok_or_else(|| IrError::Undefined {
        node: first.to_string(),
        value: g.value(output).name.clone(),
    })?;
    b.output(y);
    b.finish()
}
