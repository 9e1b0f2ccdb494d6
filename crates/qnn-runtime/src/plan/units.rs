//! Units of execution: each dataflow step alone, or element-wise steps grouped into one
//! register program (compiled by `program::elementwise`), and a transpose that alone reads a
//! group's value done by the group's store instead.

use std::collections::{HashMap, HashSet};

use qnn_ir::backend::TransposeConvert;
use qnn_ir::{DType, Op, RequantScale, TensorType};

use super::data::group_table;
use crate::broadcast::{axes_pattern, broadcast_pattern};
use crate::optimize::dataflow::{DataOp, Dataflow, Step, StepKind, Vid, clip_bounds};

/// What one unit runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UnitKind {
    /// One step (by index).
    Single(usize),
    /// Element-wise steps (indices, in order) run as one program; `stores` are the values it
    /// writes (each read outside the group or a graph output), each with the permutation of
    /// a transpose fused into its store.
    Group { members: Vec<usize>, stores: Vec<(Vid, Option<Vec<usize>>)> },
}

/// Transposes fused into group stores: the group's value → (the transpose's output, its
/// permutation).
type Absorbed = HashMap<Vid, (Vid, Vec<usize>)>;

/// A unit with the runtime values it reads and writes (a store with a fused transpose
/// writes the transpose's output).
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub kind: UnitKind,
    pub inputs: Vec<Vid>,
    pub outputs: Vec<Vid>,
}

/// True when `step` can run in an element-wise group: an op the group compiler
/// (`program::elementwise`) supports, on supported dtypes, every operand readable through a
/// broadcast pattern (constants can always be expanded).
pub(crate) fn groupable(p: &Dataflow, step: &Step) -> bool {
    let StepKind::Op(op) = &step.kind else { return false };
    let op: &Op = op;
    let out = &p.values[step.output].ty;
    let ins: Vec<&TensorType> = step.inputs.iter().map(|&v| &p.values[v].ty).collect();
    let operands_ok = step.inputs.iter().all(|&v| {
        p.constant(v).is_some() || broadcast_pattern(&p.values[v].ty.shape, &out.shape).is_some()
    });
    let same = |d: DType| ins.iter().all(|t| t.dtype == d);
    let kind_ok = match op {
        Op::Add | Op::Subtract | Op::Multiply => ins.len() == 2 && same(ins[0].dtype),
        Op::Divide | Op::Round => same(DType::F32),
        Op::Fma => ins.len() == 3 && same(DType::F32),
        Op::Cast { .. } => ins.len() == 1,
        Op::Clip { min, max } => match ins.first().map(|t| t.dtype) {
            Some(DType::F32) => !(min.is_nan() || max.is_nan() || min > max),
            Some(d) => clip_bounds(*min, *max, d).is_some(),
            None => false,
        },
        Op::Requantize { scale, axes, out_dtype, .. } => {
            ins.len() == 1
                && ins[0].dtype.is_integer()
                && out_dtype.is_integer()
                && axes_pattern(axes, scale.len(), &out.shape).is_some()
                && match scale {
                    RequantScale::Float { mults } => mults.iter().all(|m| m.is_finite()),
                    RequantScale::Fixed { .. } => true,
                }
        }
        _ => false,
    };
    kind_ok && operands_ok
}

/// The units of `p`, in execution order.
pub(crate) fn units(p: &Dataflow) -> Vec<Unit> {
    let groups = group(p);
    let (absorbed, skip) = absorb_transposes(p, &groups);
    let outputs: HashSet<Vid> = p.outputs.iter().copied().collect();
    let readers = readers(p, &groups);
    let mut out = Vec::with_capacity(groups.len());
    for (u, (members, is_group)) in groups.iter().enumerate() {
        if skip.contains(&u) {
            continue;
        }
        if *is_group {
            out.push(group_unit(p, u, members, &readers, &outputs, &absorbed));
        } else {
            let step = &p.steps[members[0]];
            out.push(Unit {
                kind: UnitKind::Single(members[0]),
                inputs: step.inputs.clone(),
                outputs: vec![step.output],
            });
        }
    }
    out
}

/// A group's unit: its inputs from outside (first use first), and the values it stores.
fn group_unit(
    p: &Dataflow,
    u: usize,
    members: &[usize],
    readers: &[Vec<usize>],
    outputs: &HashSet<Vid>,
    absorbed: &Absorbed,
) -> Unit {
    let produced: Vec<Vid> = members.iter().map(|&s| p.steps[s].output).collect();
    let mut inputs = Vec::new();
    for &s in members {
        for &v in &p.steps[s].inputs {
            if p.constant(v).is_none() && !produced.contains(&v) && !inputs.contains(&v) {
                inputs.push(v);
            }
        }
    }
    let stores: Vec<(Vid, Option<Vec<usize>>)> = produced
        .iter()
        .copied()
        .filter(|v| {
            outputs.contains(v) || readers.get(*v).is_some_and(|r| r.iter().any(|&x| x != u))
        })
        .map(|v| (v, absorbed.get(&v).map(|(_, perm)| perm.clone())))
        .collect();
    let outputs = stores.iter().map(|(v, _)| absorbed.get(v).map_or(*v, |(w, _)| *w)).collect();
    Unit { kind: UnitKind::Group { members: members.to_vec(), stores }, inputs, outputs }
}

/// Which units read each value (by value index).
fn readers(p: &Dataflow, groups: &[(Vec<usize>, bool)]) -> Vec<Vec<usize>> {
    let mut unit_of_step = vec![0usize; p.steps.len()];
    for (u, (m, _)) in groups.iter().enumerate() {
        m.iter().for_each(|&s| unit_of_step[s] = u);
    }
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); p.values.len()];
    for (si, s) in p.steps.iter().enumerate() {
        for &v in &s.inputs {
            readers[v].push(unit_of_step[si]);
        }
    }
    readers
}

/// A transpose that alone reads a group's value (not a graph output) is fused into the
/// group's store: the value → (the transpose's output, its permutation), and the units of
/// those transposes, which do not run. Not after a group that is one function of an 8-bit
/// value: that group runs as a lookup kernel, the transpose on its own kernel.
fn absorb_transposes(p: &Dataflow, groups: &[(Vec<usize>, bool)]) -> (Absorbed, HashSet<usize>) {
    let readers = readers(p, groups);
    let outputs: HashSet<Vid> = p.outputs.iter().copied().collect();
    let mut producer: HashMap<Vid, usize> = HashMap::new();
    for (u, (m, _)) in groups.iter().enumerate() {
        m.iter().for_each(|&s| _ = producer.insert(p.steps[s].output, u));
    }
    let mut absorbed = HashMap::new();
    let mut skip = HashSet::new();
    for (u, (m, is_group)) in groups.iter().enumerate() {
        if *is_group {
            continue;
        }
        let step = &p.steps[m[0]];
        let perm = match &step.kind {
            StepKind::Op(op) => match op.as_ref() {
                Op::Transpose { perm } => perm,
                _ => continue,
            },
            StepKind::Data(d) => match &d.op {
                DataOp::Transpose { perm, convert: TransposeConvert::None } => perm,
                _ => continue,
            },
            StepKind::Conv(_) => continue,
        };
        let v = step.inputs[0];
        let from_group =
            producer.get(&v).is_some_and(|&pu| groups[pu].1 && !lookup(p, &groups[pu].0, v));
        if from_group && readers.get(v).is_some_and(|r| r == &[u]) && !outputs.contains(&v) {
            absorbed.insert(v, (step.output, perm.clone()));
            skip.insert(u);
        }
    }
    (absorbed, skip)
}

/// Whether the group `members` storing `v` is one function of one 8-bit value.
fn lookup(p: &Dataflow, members: &[usize], v: Vid) -> bool {
    let produced: Vec<Vid> = members.iter().map(|&s| p.steps[s].output).collect();
    let inputs = members.iter().flat_map(|&s| p.steps[s].inputs.iter().copied());
    let outside = |x: &Vid| p.constant(*x).is_none() && !produced.contains(x);
    let Some(input) = inputs.clone().find(outside) else { return false };
    inputs.filter(outside).all(|x| x == input) && group_table(p, members, input, v).is_some()
}

/// Groups the element-wise steps of `p` (each entry: the steps of one unit, in order, and
/// whether they form an element-wise group, of one step or more). A
/// step joins the open groups that produced its inputs (same shape); a group closes when a
/// step outside it reads one of its values, so running a group where its last member stands
/// never reads a value too early.
fn group(p: &Dataflow) -> Vec<(Vec<usize>, bool)> {
    let mut group_of: HashMap<Vid, usize> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut open: Vec<bool> = Vec::new();
    let mut alias: Vec<usize> = Vec::new();
    fn find(alias: &[usize], mut g: usize) -> usize {
        while alias[g] != g {
            g = alias[g];
        }
        g
    }
    let mut singles = Vec::new();
    for (si, step) in p.steps.iter().enumerate() {
        let producers: Vec<usize> =
            step.inputs.iter().filter_map(|v| group_of.get(v).map(|&g| find(&alias, g))).collect();
        if groupable(p, step) {
            let shape = &p.values[step.output].ty.shape;
            let same = |g: usize| -> bool {
                let m = members[g][0];
                p.values[p.steps[m].output].ty.shape == *shape
            };
            let mut joinable: Vec<usize> =
                producers.iter().copied().filter(|&g| open[g] && same(g)).collect();
            joinable.sort_unstable();
            joinable.dedup();
            let g = match joinable.first() {
                Some(&g) => {
                    for &h in &joinable[1..] {
                        let moved = std::mem::take(&mut members[h]);
                        members[g].extend(moved);
                        alias[h] = g;
                        open[h] = false;
                    }
                    g
                }
                None => {
                    members.push(Vec::new());
                    open.push(true);
                    alias.push(members.len() - 1);
                    members.len() - 1
                }
            };
            for h in producers {
                if find(&alias, h) != g {
                    open[h] = false;
                }
            }
            members[g].push(si);
            group_of.insert(step.output, g);
        } else {
            for h in producers {
                open[h] = false;
            }
            singles.push(si);
        }
    }
    let mut out: Vec<(usize, (Vec<usize>, bool))> =
        singles.into_iter().map(|s| (s, (vec![s], false))).collect();
    for (g, mut m) in members.into_iter().enumerate() {
        if alias[g] == g && !m.is_empty() {
            m.sort_unstable();
            out.push((*m.last().unwrap_or(&0), (m, true)));
        }
    }
    out.sort_by_key(|(pos, _)| *pos);
    out.into_iter().map(|(_, u)| u).collect()
}
