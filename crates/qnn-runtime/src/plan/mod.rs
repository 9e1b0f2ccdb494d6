//! Planning: program steps → executable steps (element-wise ops grouped, a fast
//! implementation or the reference chosen for every other op), buffers allocated by
//! liveness, and the report.

pub(crate) mod arena;
pub(crate) mod device;
pub(crate) mod kernels;
pub mod report;

use std::collections::{HashMap, HashSet};

use qnn_ir::{Op, TensorType, window_output};

use crate::error::RuntimeError;
use crate::exec::data::{Pool, SumBlock, Transpose};
use crate::exec::elementwise::{GroupCompiler, Scatter, groupable};
use crate::exec::{Buf, ExecKind, ExecStep, tensors};
use crate::optimize::fuse::ConvKind;
use crate::plan::kernels::KernelImpl;
use crate::program::{Program, Step, StepKind, Vid};
use arena::{Interval, allocate};
use report::{Exec, StepReport};

/// A planned model, before it gets its thread pool.
#[derive(Debug)]
pub(crate) struct Planned {
    pub steps: Vec<ExecStep>,
    pub consts: Vec<Vec<u8>>,
    /// Graph inputs: name, type, arena range.
    pub inputs: Vec<(String, TensorType, std::ops::Range<usize>)>,
    /// Graph outputs: type and where to read them.
    pub outputs: Vec<(TensorType, Buf)>,
    pub arena_bytes: usize,
    pub reports: Vec<StepReport>,
}

/// A unit of execution: one program step, or a group of element-wise steps.
enum Unit {
    Single(usize),
    Group(Vec<usize>),
}

/// Groups the element-wise steps of `p`. A step joins the open groups that produced its
/// inputs (same shape); a group closes when a step outside it reads one of its values, so
/// running a group where its last member stands never reads a value too early.
fn units(p: &Program) -> Vec<Unit> {
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
    let mut out: Vec<(usize, Unit)> = singles.into_iter().map(|s| (s, Unit::Single(s))).collect();
    for (g, mut m) in members.into_iter().enumerate() {
        if alias[g] == g && !m.is_empty() {
            m.sort_unstable();
            out.push((*m.last().unwrap_or(&0), Unit::Group(m)));
        }
    }
    out.sort_by_key(|(pos, _)| *pos);
    out.into_iter().map(|(_, u)| u).collect()
}

fn layout_name(p: &Program, v: Vid) -> String {
    let val = &p.values[v];
    format!("{}{}", val.ty, if val.nhwc { " NHWC" } else { "" })
}

/// Plans `p`.
pub(crate) fn plan(mut p: Program) -> Result<Planned, RuntimeError> {
    let units = units(&p);
    let outputs_set: HashSet<Vid> = p.outputs.iter().copied().collect();
    // Which unit reads each value.
    let mut unit_of_step = vec![0usize; p.steps.len()];
    for (u, unit) in units.iter().enumerate() {
        match unit {
            Unit::Single(s) => unit_of_step[*s] = u,
            Unit::Group(m) => m.iter().for_each(|&s| unit_of_step[s] = u),
        }
    }
    let mut readers: HashMap<Vid, Vec<usize>> = HashMap::new();
    for (si, s) in p.steps.iter().enumerate() {
        for &v in &s.inputs {
            readers.entry(v).or_default().push(unit_of_step[si]);
        }
    }
    // A transpose that alone reads a group's output is fused into the group's store.
    let producer: HashMap<Vid, usize> =
        p.steps.iter().enumerate().map(|(si, s)| (s.output, unit_of_step[si])).collect();
    let mut absorbed: HashMap<Vid, (Vid, Vec<usize>)> = HashMap::new();
    let mut skip: HashSet<usize> = HashSet::new();
    for (u, unit) in units.iter().enumerate() {
        let Unit::Single(s) = unit else { continue };
        let step = &p.steps[*s];
        let StepKind::Op(op) = &step.kind else { continue };
        let Op::Transpose { perm } = op.as_ref() else { continue };
        let v = step.inputs[0];
        let from_group = producer.get(&v).is_some_and(|&pu| matches!(units[pu], Unit::Group(_)));
        if from_group && readers.get(&v).is_some_and(|r| r == &[u]) && !outputs_set.contains(&v) {
            absorbed.insert(v, (step.output, perm.clone()));
            skip.insert(u);
        }
    }
    let mut consts: Vec<Vec<u8>> = Vec::new();
    let mut const_index: HashMap<Vid, usize> = HashMap::new();
    let mut planned_units: Vec<(ExecKind, Vec<Vid>, Vec<Vid>)> = Vec::new();
    let mut reports = Vec::new();
    let steps = std::mem::take(&mut p.steps);
    let mut steps: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    for (u, unit) in units.iter().enumerate() {
        if skip.contains(&u) {
            continue;
        }
        match unit {
            Unit::Group(m) => {
                let first = steps[m[0]].as_ref().ok_or_else(|| internal("step used twice"))?;
                let shape = p.values[first.output].ty.shape.clone();
                let mut gc = GroupCompiler::new(&p, shape);
                let mut names = Vec::new();
                let mut produced = Vec::new();
                for &s in m {
                    let step = steps[s].as_ref().ok_or_else(|| internal("step used twice"))?;
                    gc.add(step);
                    names.push(step.name.clone());
                    produced.push(step.output);
                }
                let outs: Vec<Vid> = produced
                    .iter()
                    .copied()
                    .filter(|v| {
                        outputs_set.contains(v)
                            || readers.get(v).is_some_and(|r| r.iter().any(|&ru| ru != u))
                    })
                    .collect();
                let inputs = gc.inputs.clone();
                let scatter: Vec<Option<Scatter>> = outs
                    .iter()
                    .map(|v| {
                        let (_, perm) = absorbed.get(v)?;
                        Some(Scatter::transpose(&p.values[*v].ty.shape, perm))
                    })
                    .collect();
                let note = if scatter.iter().any(Option::is_some) {
                    "stores transposed (the layout conversion after it, fused)".to_string()
                } else {
                    String::new()
                };
                let group = gc.finish(&outs, scatter);
                let outs: Vec<Vid> =
                    outs.iter().map(|v| absorbed.get(v).map_or(*v, |(w, _)| *w)).collect();
                let ops: Vec<String> = m
                    .iter()
                    .filter_map(|&s| match &steps[s].as_ref()?.kind {
                        StepKind::Op(op) => Some(op.name().to_string()),
                        StepKind::Conv(_) => None,
                    })
                    .collect();
                reports.push(StepReport {
                    step: step_name(&names),
                    op: match group.fast.as_ref() {
                        Some(f) => format!(
                            "element-wise, one {} loop ({} ops: {})",
                            f.name(),
                            ops.len(),
                            ops.join(" ")
                        ),
                        None => format!("element-wise ({} ops: {})", ops.len(), ops.join(" ")),
                    },
                    exec: Exec::Fast,
                    backend: None,
                    kernel: None,
                    lowering: None,
                    fused: vec![],
                    nodes: m
                        .iter()
                        .flat_map(|&s| steps[s].iter().flat_map(|st| st.nodes.clone()))
                        .collect(),
                    output: outs.iter().map(|&v| layout_name(&p, v)).collect::<Vec<_>>().join(", "),
                    note,
                });
                for &s in m {
                    steps[s] = None;
                }
                planned_units.push((ExecKind::Elementwise(group), inputs, outs));
            }
            Unit::Single(s) => {
                let step = steps[*s].take().ok_or_else(|| internal("step used twice"))?;
                let (kind, report) = single(
                    &p,
                    step.kind,
                    &step.inputs,
                    step.output,
                    &step.name,
                    &step.nodes,
                    &step.note,
                )?;
                reports.push(report);
                planned_units.push((kind, step.inputs.clone(), vec![step.output]));
            }
        }
    }
    // Buffers: every runtime value read or written by a unit, or a graph input/output.
    let n = planned_units.len();
    let mut life: HashMap<Vid, (usize, usize)> = HashMap::new();
    let mut touch = |v: Vid, t: usize| {
        let e = life.entry(v).or_insert((t, t));
        e.0 = e.0.min(t);
        e.1 = e.1.max(t);
    };
    for &v in &p.inputs {
        touch(v, 0);
    }
    for (u, (_, ins, outs)) in planned_units.iter().enumerate() {
        for &v in ins.iter().chain(outs) {
            if p.constant(v).is_none() {
                touch(v, u);
            }
        }
    }
    for &v in &p.outputs {
        if p.constant(v).is_none() {
            touch(v, n);
        }
    }
    let mut vids: Vec<Vid> = life.keys().copied().collect();
    vids.sort_unstable();
    let intervals: Vec<Interval> = vids
        .iter()
        .map(|v| {
            let (first, last) = life[v];
            let bytes = p.values[*v].ty.checked_bytes().unwrap_or(0);
            Interval { bytes, first, last }
        })
        .collect();
    let (ranges, arena_bytes) = allocate(&intervals);
    let range: HashMap<Vid, std::ops::Range<usize>> = vids.iter().copied().zip(ranges).collect();
    let mut buf = |v: Vid| -> Result<Buf, RuntimeError> {
        if let Some(t) = p.constant(v) {
            let i = *const_index.entry(v).or_insert_with(|| {
                consts.push(tensors::to_bytes(t));
                consts.len() - 1
            });
            return Ok(Buf::Const(i));
        }
        range.get(&v).cloned().map(Buf::Arena).ok_or_else(|| internal("value without a buffer"))
    };
    let mut exec_steps = Vec::with_capacity(n);
    for ((kind, ins, outs), rep) in planned_units.into_iter().zip(&reports) {
        let inputs = ins.iter().map(|&v| buf(v)).collect::<Result<Vec<_>, _>>()?;
        let outputs = outs
            .iter()
            .map(|v| range.get(v).cloned().ok_or_else(|| internal("output without a buffer")))
            .collect::<Result<Vec<_>, _>>()?;
        exec_steps.push(ExecStep { name: rep.step.clone(), kind, inputs, outputs });
    }
    let inputs = p
        .inputs
        .iter()
        .map(|&v| {
            let r = range.get(&v).cloned().ok_or_else(|| internal("input without a buffer"))?;
            Ok((p.values[v].name.clone(), p.values[v].ty.clone(), r))
        })
        .collect::<Result<Vec<_>, RuntimeError>>()?;
    let outputs = p
        .outputs
        .clone()
        .into_iter()
        .map(|v| Ok((p.values[v].ty.clone(), buf(v)?)))
        .collect::<Result<Vec<_>, RuntimeError>>()?;
    Ok(Planned { steps: exec_steps, consts, inputs, outputs, arena_bytes, reports })
}

/// A step's name from the lowered nodes it computes: their common QNN op (`conv1` for
/// `conv1.t1`, `conv1.c`, `conv1`), or the ops joined with `+` when it spans several.
fn step_name(nodes: &[String]) -> String {
    let mut stems: Vec<&str> = Vec::new();
    for n in nodes {
        let stem = n.split(['.', '/']).next().unwrap_or(n);
        if !stems.contains(&stem) {
            stems.push(stem);
        }
    }
    match stems.len() {
        0 => String::new(),
        1..=3 => stems.join("+"),
        k => format!("{}+{}+… ({k} ops)", stems[0], stems[1]),
    }
}

fn internal(msg: &str) -> RuntimeError {
    RuntimeError::Internal(msg.into())
}

/// The executable form and report of one step that is not in a group.
#[allow(clippy::too_many_arguments)]
fn single(
    p: &Program,
    kind: StepKind,
    inputs: &[Vid],
    output: Vid,
    name: &str,
    nodes: &[String],
    note: &str,
) -> Result<(ExecKind, StepReport), RuntimeError> {
    let ty = |v: Vid| p.values[v].ty.clone();
    let mut report = StepReport {
        step: if nodes.is_empty() { name.to_string() } else { step_name(nodes) },
        op: String::new(),
        exec: Exec::Fast,
        backend: None,
        kernel: None,
        lowering: None,
        fused: vec![],
        nodes: nodes.to_vec(),
        output: layout_name(p, output),
        note: note.to_string(),
    };
    let op = match kind {
        StepKind::Conv(c) => {
            let c = *c;
            let g = &c.spec.problem.geometry;
            report.op = match c.spec.kind {
                ConvKind::Dense => format!("dense {}→{}", g.in_c, g.out_c),
                ConvKind::Conv2d(_) => format!(
                    "{}conv2d {}×{}{} {}→{}",
                    if g.is_depthwise() { "depthwise " } else { "" },
                    g.kernel[0],
                    g.kernel[1],
                    if g.strides != [1, 1] { format!(" s{}", g.strides[0]) } else { String::new() },
                    g.in_c,
                    g.out_c
                ),
            };
            report.backend = Some(c.chosen.backend.to_string());
            report.kernel = Some(c.chosen.kernel.to_string());
            report.lowering = Some(c.spec.lowering.to_string());
            report.fused = c.spec.fused.clone();
            report.note = c.chosen.note.clone();
            let kernel = c.chosen.kernel;
            let (exec, kind) = match c.chosen.imp {
                KernelImpl::Cpu(plan) => (Exec::Kernel, ExecKind::Conv { plan, kernel }),
                KernelImpl::Device(op) => (Exec::Device, ExecKind::Device { op, kernel }),
                KernelImpl::DevicePlanned => (Exec::Device, ExecKind::Unprepared { kernel }),
            };
            report.exec = exec;
            return Ok((kind, report));
        }
        StepKind::Op(op) => *op,
    };
    report.op = op.name().to_string();
    let in_ty = ty(inputs[0]);
    let fast = match &op {
        Op::Transpose { perm } => {
            Some(ExecKind::Transpose(Transpose::new(&in_ty.shape, perm, in_ty.dtype.size_bytes())))
        }
        Op::Reshape { .. } => Some(ExecKind::Copy),
        Op::Concatenate { axis } => Some(ExecKind::Concat {
            shapes: inputs.iter().map(|&v| ty(v).shape).collect(),
            axis: *axis,
            elem: in_ty.dtype.size_bytes(),
        }),
        Op::Sum { axes, .. } => SumBlock::new(&in_ty.shape, axes, in_ty.dtype).map(ExecKind::Sum),
        Op::Pool2d { kind, pool, pad_value } => {
            let [n, c, h, w] = pool.layout.nchw(&in_ty.shape);
            let [pt, pl, pb, pr] = pool.padding;
            let (k, s, d) = (pool.kernel, pool.strides, pool.dilation);
            let oh = window_output(h, pt, pb, k[0], s[0], d[0]);
            let ow = window_output(w, pl, pr, k[1], s[1], d[1]);
            match (oh, ow) {
                (Some(oh), Some(ow)) => Some(ExecKind::Pool(Pool {
                    kind: *kind,
                    pool: pool.clone(),
                    pad_value: *pad_value,
                    in_shape: [n, c, h, w],
                    out_hw: [oh, ow],
                    dtype: in_ty.dtype,
                })),
                _ => None,
            }
        }
        _ => None,
    };
    if let Some(k) = fast {
        return Ok((k, report));
    }
    report.exec = Exec::Reference;
    if report.note.is_empty() {
        report.note = format!("no fast implementation of this form of `{}`", op.name());
    }
    let kind = ExecKind::Reference {
        op,
        inputs: inputs.iter().map(|&v| ty(v)).collect(),
        output: ty(output),
    };
    Ok((kind, report))
}
