//! The program the planner works on: the legalized graph with each fused conv/dense as one
//! step, values carrying their physical layout. [`crate::optimize::layout`] rewrites it to
//! NHWC; [`crate::plan`] turns it into executable steps.

use std::collections::HashMap;
use std::sync::Arc;

use qnn_ir::{Graph, Op, Tensor, TensorType, ValueDef};

use crate::error::RuntimeError;
use crate::optimize::fuse::ConvSpec;
use crate::plan::kernels::ChosenKernel;

/// Index of a program value.
pub(crate) type Vid = usize;

/// Where a program value comes from.
#[derive(Debug, Clone)]
pub(crate) enum Def {
    Input,
    Const(Arc<Tensor>),
    Step,
}

/// A value: its physical type (the layout pass permutes 4-D NCHW tensors to NHWC and sets
/// `nhwc`; the logical tensor is then the physical one transposed by `[0, 3, 1, 2]`).
#[derive(Debug, Clone)]
pub(crate) struct PValue {
    pub name: String,
    pub ty: TensorType,
    pub def: Def,
    pub nhwc: bool,
}

/// A fused conv/dense with its kernel.
#[derive(Debug)]
pub(crate) struct ConvStep {
    pub spec: ConvSpec,
    pub chosen: ChosenKernel,
}

/// What a step computes.
#[derive(Debug)]
pub(crate) enum StepKind {
    /// A core op on physical tensors.
    Op(Box<Op>),
    /// A fused conv/dense: NHWC (or `[.., K]`) in, NHWC (or `[.., N]`) out.
    Conv(Box<ConvStep>),
}

/// One step: `output = kind(inputs)`.
#[derive(Debug)]
pub(crate) struct Step {
    pub name: String,
    pub kind: StepKind,
    pub inputs: Vec<Vid>,
    pub output: Vid,
    /// Names of the lowered-graph nodes it computes (for the report).
    pub nodes: Vec<String>,
    /// Why it runs the way it does, when that needs saying.
    pub note: String,
}

#[derive(Debug)]
pub(crate) struct Program {
    pub values: Vec<PValue>,
    pub steps: Vec<Step>,
    pub inputs: Vec<Vid>,
    pub outputs: Vec<Vid>,
}

impl Program {
    /// The program of `g` with the nodes of each of `convs` replaced by one step (placed
    /// where its output is defined). `notes` (by node index) explain nodes that stay as they
    /// are although they could have been fused.
    pub(crate) fn build(
        g: &Graph,
        convs: Vec<ConvStep>,
        notes: &HashMap<usize, String>,
    ) -> Result<Program, RuntimeError> {
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
        for (ci, c) in convs.iter().enumerate() {
            for &n in &c.spec.nodes {
                if covered.insert(n, ci).is_some() {
                    return Err(RuntimeError::Internal(format!("node {n} fused twice")));
                }
            }
            match g.value(c.spec.output).def {
                ValueDef::Node(last) => at.insert(last, ci),
                _ => return Err(RuntimeError::Internal("fused output is not a node".into())),
            };
        }
        let mut convs: Vec<Option<ConvStep>> = convs.into_iter().map(Some).collect();
        let mut steps = Vec::with_capacity(g.nodes.len());
        for (i, n) in g.nodes.iter().enumerate() {
            if let Some(&ci) = at.get(&i) {
                let c = convs[ci]
                    .take()
                    .ok_or_else(|| RuntimeError::Internal("fused op placed twice".into()))?;
                let names = c.spec.nodes.iter().map(|&k| g.nodes[k].name.clone()).collect();
                steps.push(Step {
                    name: c.spec.name.clone(),
                    inputs: vec![c.spec.input.index()],
                    output: c.spec.output.index(),
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
        Ok(Program {
            values,
            steps,
            inputs: g.inputs.iter().map(|v| v.index()).collect(),
            outputs: g.outputs.iter().map(|v| v.index()).collect(),
        })
    }

    /// Adds a value defined by a step.
    pub(crate) fn add_value(&mut self, name: String, ty: TensorType, nhwc: bool) -> Vid {
        self.values.push(PValue { name, ty, def: Def::Step, nhwc });
        self.values.len() - 1
    }

    /// Adds a constant.
    pub(crate) fn add_const(&mut self, name: String, t: Tensor, nhwc: bool) -> Vid {
        self.values.push(PValue { name, ty: t.ty(), def: Def::Const(Arc::new(t)), nhwc });
        self.values.len() - 1
    }

    /// The constant tensor of a value, if it is one.
    pub(crate) fn constant(&self, v: Vid) -> Option<&Arc<Tensor>> {
        match &self.values[v].def {
            Def::Const(t) => Some(t),
            _ => None,
        }
    }
}
