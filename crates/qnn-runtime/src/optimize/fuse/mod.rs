//! Fusion: each conv/dense chain of the folded graph — core op, zero-point terms, bias,
//! requantize, clamp — becomes one [`ConvSpec`] step of the [`Dataflow`]; every other node
//! becomes a step of its own.
//!
//! The chains come from the legalizer's records ([`chain::from_records`]): what each
//! conv/dense was lowered to, with its folded weights and constants, is read, not
//! rediscovered. Core conv/dense ops without a record — a graph that arrived lowered, or core
//! ops passed through legalization — are recognized in the graph instead
//! ([`lowered::chains`]).

pub(crate) mod chain;
pub(crate) mod lowered;
pub(crate) mod spec;

use std::collections::HashMap;

use qnn_ir::{Graph, ValueDef};
use qnn_legalize::{Record, RecordKind};

use crate::error::RuntimeError;
use crate::optimize::dataflow::{ConvSpec, Dataflow, Def, PValue, Step, StepKind};
use crate::optimize::fold::Folded;
use chain::ConvChain;

/// The dataflow of `folded` with its chains fused: those of `records` (the legalizer's, for
/// the graph `folded` was folded from), and those recognized around core conv/dense nodes no
/// conv record covers (all of them when `records` is `None`).
pub(crate) fn fuse(folded: &Folded, records: Option<&[Record]>) -> Result<Dataflow, RuntimeError> {
    let g = &folded.graph;
    let mut chains: Vec<ConvChain> = Vec::new();
    let mut recorded = vec![false; g.nodes.len()];
    if let Some(records) = records {
        chains = chain::from_records(folded, records);
        for r in records.iter().filter(|r| matches!(r.kind, RecordKind::Conv(_))) {
            r.nodes.iter().filter_map(|&n| folded.node(n)).for_each(|n| recorded[n] = true);
        }
    }
    let unrecorded =
        (0..g.nodes.len()).filter(|&i| !recorded[i] && lowered::is_core_conv(&g.nodes[i].op));
    chains.extend(lowered::chains(g, unrecorded));
    let mut specs = Vec::with_capacity(chains.len());
    let mut notes = HashMap::new();
    for c in &chains {
        match spec::conv_spec(g, c) {
            Ok(s) => specs.push(s),
            Err(why) => {
                notes.insert(c.core, format!("not fused: {why}"));
            }
        }
    }
    dataflow(g, specs, &notes)
}

/// The dataflow of `g` with the nodes of each of `specs` replaced by one step (placed where
/// its output is defined). `notes` (by node index) explain nodes that stay as they are
/// although they could have been fused.
fn dataflow(
    g: &Graph,
    specs: Vec<ConvSpec>,
    notes: &HashMap<usize, String>,
) -> Result<Dataflow, RuntimeError> {
    let values = g
        .values
        .iter()
        .map(|v| PValue {
            name: v.name.clone(),
            ty: v.ty.clone(),
            def: match &v.def {
                ValueDef::Input => Def::Input,
                ValueDef::Const(t) => Def::Const(t.clone()),
                ValueDef::Node(_) => Def::Step,
            },
            nhwc: false,
        })
        .collect();
    let mut covered: HashMap<usize, usize> = HashMap::new();
    let mut at: HashMap<usize, usize> = HashMap::new();
    for (ci, c) in specs.iter().enumerate() {
        for &n in &c.nodes {
            if covered.insert(n, ci).is_some() {
                return Err(RuntimeError::Internal(format!("node {n} fused twice")));
            }
        }
        match g.value(c.output).def {
            ValueDef::Node(last) => at.insert(last, ci),
            _ => return Err(RuntimeError::Internal("fused output is not a node".into())),
        };
    }
    let mut specs: Vec<Option<ConvSpec>> = specs.into_iter().map(Some).collect();
    let mut steps = Vec::with_capacity(g.nodes.len());
    for (i, n) in g.nodes.iter().enumerate() {
        if let Some(&ci) = at.get(&i) {
            let c = specs[ci]
                .take()
                .ok_or_else(|| RuntimeError::Internal("fused op placed twice".into()))?;
            let names = c.nodes.iter().map(|&k| g.nodes[k].name.clone()).collect();
            steps.push(Step {
                name: c.name.clone(),
                inputs: vec![c.input.index()],
                output: c.output.index(),
                nodes: names,
                note: String::new(),
                kind: StepKind::Conv(Box::new(c)),
            });
        } else if !covered.contains_key(&i) {
            steps.push(Step {
                name: n.name.clone(),
                kind: StepKind::Op(Box::new(n.op.clone())),
                inputs: n.inputs.iter().map(|v| v.index()).collect(),
                output: n.output.index(),
                nodes: vec![n.name.clone()],
                note: notes.get(&i).cloned().unwrap_or_default(),
            });
        }
    }
    Ok(Dataflow {
        values,
        steps,
        inputs: g.inputs.iter().map(|v| v.index()).collect(),
        outputs: g.outputs.iter().map(|v| v.index()).collect(),
    })
}
