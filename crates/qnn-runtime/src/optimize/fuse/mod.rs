//! Fusion: each conv/dense chain of the folded graph — core op, zero-point terms, bias,
//! requantize, clamp — becomes one [`ConvSpec`] step of the [`Dataflow`]; each pooling,
//! QLinearAdd, quantize, dequantize, concatenation and lookup of a form the frame's kernels
//! compute becomes one typed [`DataSpec`](crate::optimize::dataflow::DataSpec) step; every other node becomes a step of its own.
//!
//! The chains and typed steps come from the legalizer's records ([`chain::from_records`],
//! [`data::from_records`]): what each op was lowered to, with its parameters, is read, not
//! rediscovered. Core conv/dense ops without a record — a graph that arrived lowered, or core
//! ops passed through legalization — are recognized in the graph instead
//! ([`lowered::chains`]).

pub(crate) mod chain;
pub(crate) mod data;
pub(crate) mod lowered;
pub(crate) mod spec;
pub(crate) mod subgraph;

use std::collections::HashMap;

use qnn_ir::{Graph, ValueDef, ValueId};
use qnn_legalize::{Record, RecordKind};

use crate::error::RuntimeError;
use crate::optimize::dataflow::{ConvSpec, Dataflow, Def, PValue, Step, StepKind};
use crate::optimize::fold::Folded;
use chain::ConvChain;
use data::Typed;

/// The dataflow of `folded` with its chains fused: those of `records` (the legalizer's, for
/// the graph `folded` was folded from), and those recognized around core conv/dense nodes no
/// conv record covers (all of them when `records` is `None`). The folded graph's values move
/// into the dataflow.
pub(crate) fn fuse(
    mut folded: Folded,
    records: Option<&[Record]>,
) -> Result<Dataflow, RuntimeError> {
    let folded_ref = &folded;
    let g = &folded_ref.graph;
    let mut chains: Vec<ConvChain> = Vec::new();
    let mut recorded = vec![false; g.nodes.len()];
    if let Some(records) = records {
        chains = chain::from_records(folded_ref, records);
        for r in records.iter().filter(|r| matches!(r.kind, RecordKind::Conv(_))) {
            r.nodes.iter().filter_map(|&n| folded_ref.node(n)).for_each(|n| recorded[n] = true);
        }
    }
    let unrecorded =
        (0..g.nodes.len()).filter(|&i| !recorded[i] && lowered::is_core_conv(&g.nodes[i].op));
    chains.extend(lowered::chains(g, unrecorded));
    let mut specs = Vec::with_capacity(chains.len());
    let mut notes = HashMap::new();
    for c in &chains {
        match spec::conv_spec(g, c) {
            Ok(s) => specs.push(Fused::Conv(s)),
            Err(why) => {
                notes.insert(c.core, format!("not fused: {why}"));
            }
        }
    }
    if let Some(records) = records {
        let mut taken = vec![false; g.nodes.len()];
        for s in &specs {
            s.nodes().iter().for_each(|&n| taken[n] = true);
        }
        specs.extend(data::from_records(folded_ref, records, &taken).into_iter().map(Fused::Data));
    }
    dataflow(&mut folded.graph, specs, &notes)
}

/// A step that replaces nodes of the graph.
enum Fused {
    Conv(ConvSpec),
    Data(Typed),
}

impl Fused {
    fn nodes(&self) -> &[usize] {
        match self {
            Fused::Conv(c) => &c.nodes,
            Fused::Data(d) => &d.spec.nodes,
        }
    }

    fn output(&self) -> ValueId {
        match self {
            Fused::Conv(c) => c.output,
            Fused::Data(d) => d.output,
        }
    }

    fn into_step(self, g: &Graph) -> Step {
        let names: Vec<String> = self.nodes().iter().map(|&k| g.nodes[k].name.clone()).collect();
        let output = self.output().index();
        match self {
            Fused::Conv(c) => Step {
                name: c.name.clone(),
                inputs: vec![c.input.index()],
                output,
                nodes: names,
                note: String::new(),
                kind: StepKind::Conv(Box::new(c)),
            },
            Fused::Data(d) => Step {
                name: names.first().cloned().unwrap_or_default(),
                inputs: d.inputs.iter().map(|v| v.index()).collect(),
                output,
                nodes: names,
                note: String::new(),
                kind: StepKind::Data(Box::new(d.spec)),
            },
        }
    }
}

/// The dataflow of `g` with the nodes of each of `specs` replaced by one step (placed where
/// its output is defined). `notes` (by node index) explain nodes that stay as they are
/// although they could have been fused. The values of `g` move into the dataflow (copying
/// every name and type was a tenth of the optimize phase of a deep model).
fn dataflow(
    g: &mut Graph,
    specs: Vec<Fused>,
    notes: &HashMap<usize, String>,
) -> Result<Dataflow, RuntimeError> {
    // Per node: whether a spec covers it, and the spec placed at it (by index).
    let mut covered = vec![false; g.nodes.len()];
    let mut at: Vec<Option<usize>> = vec![None; g.nodes.len()];
    for (ci, c) in specs.iter().enumerate() {
        for &n in c.nodes() {
            if std::mem::replace(&mut covered[n], true) {
                return Err(RuntimeError::Internal(format!("node {n} fused twice")));
            }
        }
        match g.value(c.output()).def {
            ValueDef::Node(last) => at[last] = Some(ci),
            _ => return Err(RuntimeError::Internal("fused output is not a node".into())),
        };
    }
    let mut specs: Vec<Option<Fused>> = specs.into_iter().map(Some).collect();
    let mut steps = Vec::with_capacity(g.nodes.len());
    for (i, n) in g.nodes.iter().enumerate() {
        if let Some(ci) = at[i] {
            let c = specs[ci]
                .take()
                .ok_or_else(|| RuntimeError::Internal("fused op placed twice".into()))?;
            steps.push(c.into_step(g));
        } else if !covered[i] {
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
    let values = std::mem::take(&mut g.values)
        .into_iter()
        .map(|v| PValue {
            name: v.name,
            ty: v.ty,
            def: match v.def {
                ValueDef::Input => Def::Input,
                ValueDef::Const(t) => Def::Const(t),
                ValueDef::Node(_) => Def::Step,
            },
            nhwc: false,
        })
        .collect();
    Ok(Dataflow {
        values,
        steps,
        inputs: g.inputs.iter().map(|v| v.index()).collect(),
        outputs: g.outputs.iter().map(|v| v.index()).collect(),
    })
}
