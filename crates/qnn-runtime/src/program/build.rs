//! Plan → program: each unit's executable form and report, then its buffers.

use std::collections::HashMap;

use qnn_ir::{Op, window_output};

use super::data::{data, on_kernel};
use super::describe::{conv_op, layout_name, step_name};
use super::elementwise::{GroupCompiler, Scatter};
use super::movement::{ResizeNearest, Transpose};
use super::reduce::{Pool, SumBlock};
use super::{Buf, ExecKind, ExecStep, Program, Stored, tensors};
use crate::error::RuntimeError;
use crate::optimize::dataflow::{ConvSpec, Dataflow, Step, StepKind, Vid};
use crate::plan::Plan;
use crate::plan::data::ChosenData;
use crate::plan::kernels::{ChosenKernel, ConvRunner};
use crate::plan::report::{Exec, StepReport};
use crate::plan::units::UnitKind;

/// The program of `plan`, and the report of each of its steps.
pub(crate) fn build(plan: Plan) -> Result<(Program, Vec<StepReport>), RuntimeError> {
    let Plan { dataflow: p, mut kernels, mut data, units, mut lookups, buffers } = plan;
    let mut built: Vec<(ExecKind, Vec<Vid>, Vec<Vid>)> = Vec::with_capacity(units.len());
    let mut reports = Vec::with_capacity(units.len());
    for (u, unit) in units.iter().enumerate() {
        let (kind, inputs, report) = match &unit.kind {
            UnitKind::Group { members, stores } => {
                let (kind, inputs, mut report) = group(&p, members, stores, &unit.outputs);
                match lookups.remove(&u) {
                    Some(Ok(chosen)) => {
                        let ops = report.op.split_once(" (").map_or("", |(_, ops)| ops);
                        report.op = format!("lookup ({ops}");
                        let (kind, report) = on_kernel(chosen, report);
                        (kind, unit.inputs.clone(), report)
                    }
                    Some(Err(why)) => {
                        report.note = format!("no lookup kernel, runs as a group: {why}");
                        (kind, inputs, report)
                    }
                    None => (kind, inputs, report),
                }
            }
            UnitKind::Single(s) => {
                let step = &p.steps[*s];
                let chosen = (kernels.remove(s), data.remove(s));
                let (kind, report) = single(&p, step, chosen)?;
                (kind, step.inputs.clone(), report)
            }
        };
        reports.push(report);
        built.push((kind, inputs, unit.outputs.clone()));
    }
    // Buffers: arena ranges, or constants (encoded once, in the order steps read them).
    let ranges = &buffers.ranges;
    let range = |v: Vid| ranges.get(&v).cloned().ok_or_else(|| internal("value without a buffer"));
    let mut consts: Vec<Vec<u8>> = Vec::new();
    let mut const_index: HashMap<Vid, usize> = HashMap::new();
    let mut buf = |v: Vid| -> Result<Buf, RuntimeError> {
        if let Some(t) = p.constant(v) {
            let i = *const_index.entry(v).or_insert_with(|| {
                consts.push(tensors::to_bytes(t));
                consts.len() - 1
            });
            return Ok(Buf::Const(i));
        }
        range(v).map(Buf::Arena)
    };
    let mut steps = Vec::with_capacity(built.len());
    for ((kind, ins, outs), rep) in built.into_iter().zip(&reports) {
        let inputs = ins.iter().map(|&v| buf(v)).collect::<Result<Vec<_>, _>>()?;
        let outputs = outs.iter().map(|&v| range(v)).collect::<Result<Vec<_>, _>>()?;
        steps.push(ExecStep { name: rep.step.clone(), kind, inputs, outputs });
    }
    let inputs = p
        .inputs
        .iter()
        .map(|&v| Ok((p.values[v].name.clone(), p.values[v].ty.clone(), range(v)?)))
        .collect::<Result<Vec<_>, RuntimeError>>()?;
    let outputs = p
        .outputs
        .iter()
        .map(|&v| Ok((p.values[v].ty.clone(), buf(v)?)))
        .collect::<Result<Vec<_>, RuntimeError>>()?;
    let program = Program { steps, consts, inputs, outputs, arena_bytes: buffers.arena_bytes };
    Ok((program, reports))
}

pub(super) fn internal(msg: &str) -> RuntimeError {
    RuntimeError::Internal(msg.into())
}

/// An element-wise group: its register program, the inputs it reads (in the program's
/// order), its report.
fn group(
    p: &Dataflow,
    members: &[usize],
    stores: &[(Vid, Option<Vec<usize>>)],
    outputs: &[Vid],
) -> (ExecKind, Vec<Vid>, StepReport) {
    let shape = p.values[p.steps[members[0]].output].ty.shape.clone();
    let mut gc = GroupCompiler::new(p, shape);
    for &s in members {
        gc.add(&p.steps[s]);
    }
    let inputs = gc.inputs.clone();
    let stored: Vec<Vid> = stores.iter().map(|(v, _)| *v).collect();
    let scatter: Vec<Option<Scatter>> = stores
        .iter()
        .map(|(v, perm)| Some(Scatter::transpose(&p.values[*v].ty.shape, perm.as_ref()?)))
        .collect();
    let note = if scatter.iter().any(Option::is_some) {
        "stores transposed (the layout conversion after it, fused)".to_string()
    } else {
        String::new()
    };
    let group = gc.finish(&stored, scatter);
    let steps: Vec<&Step> = members.iter().map(|&s| &p.steps[s]).collect();
    let names: Vec<String> = steps.iter().map(|s| s.name.clone()).collect();
    let ops: Vec<String> = steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Op(op) => Some(op.name().to_string()),
            StepKind::Conv(_) | StepKind::Data(_) => None,
        })
        .collect();
    let op = match group.fast.as_ref() {
        Some(f) => {
            format!("element-wise, one {} loop ({} ops: {})", f.name(), ops.len(), ops.join(" "))
        }
        None => format!("element-wise ({} ops: {})", ops.len(), ops.join(" ")),
    };
    let report = StepReport {
        step: step_name(&names),
        op,
        exec: Exec::Fast,
        backend: None,
        kernel: None,
        lowering: None,
        fused: vec![],
        nodes: steps.iter().flat_map(|s| s.nodes.clone()).collect(),
        output: outputs.iter().map(|&v| layout_name(p, v)).collect::<Vec<_>>().join(", "),
        note,
    };
    (ExecKind::Elementwise(group), inputs, report)
}

/// The conv kernel and the data kernel the plan chose for a step (at most one of them).
type Chosen = (Option<Result<ChosenKernel, String>>, Option<Result<ChosenData, String>>);

/// One step that is not in a group: a fused conv/dense or a typed step on its kernel (the
/// plan's choice), a fast form of a data-movement or reduction op, or the reference.
fn single(
    p: &Dataflow,
    step: &Step,
    (kernel, data_kernel): Chosen,
) -> Result<(ExecKind, StepReport), RuntimeError> {
    let mut report = StepReport {
        step: if step.nodes.is_empty() { step.name.clone() } else { step_name(&step.nodes) },
        op: String::new(),
        exec: Exec::Fast,
        backend: None,
        kernel: None,
        lowering: None,
        fused: vec![],
        nodes: step.nodes.clone(),
        output: layout_name(p, step.output),
        note: step.note.clone(),
    };
    let op = match &step.kind {
        StepKind::Conv(spec) => {
            let kernel = kernel.ok_or_else(|| internal("a fused op without a kernel choice"))?;
            return Ok(conv(p, step, spec, kernel, report));
        }
        StepKind::Data(spec) => return data(p, step, spec, data_kernel, report),
        StepKind::Op(op) => op.as_ref().clone(),
    };
    report.op = op.name().to_string();
    match data_kernel {
        Some(Ok(chosen)) => return Ok(on_kernel(chosen, report)),
        Some(Err(why)) => report.note = format!("no kernel: {why}"),
        None => {}
    }
    if let Some(k) = fast(p, &op, &step.inputs) {
        return Ok((k, report));
    }
    report.exec = Exec::Reference;
    if report.note.is_empty() {
        report.note = format!("no fast implementation of this form of `{}`", op.name());
    }
    let ty = |v: Vid| p.values[v].ty.clone();
    let kind = ExecKind::Reference {
        op,
        inputs: step.inputs.iter().map(|&v| ty(v)).collect(),
        output: ty(step.output),
    };
    Ok((kind, report))
}

/// A fused conv/dense on its kernel, or unfused on the reference when none takes it.
fn conv(
    p: &Dataflow,
    step: &Step,
    spec: &ConvSpec,
    kernel: Result<ChosenKernel, String>,
    mut report: StepReport,
) -> (ExecKind, StepReport) {
    report.op = conv_op(spec);
    report.lowering = Some(spec.lowering.to_string());
    report.fused = spec.fused.clone();
    let chosen = match kernel {
        Ok(c) => c,
        Err(why) => {
            report.exec = Exec::Reference;
            report.note = format!("no kernel, runs unfused on the reference: {why}");
            let kind = ExecKind::Unfused {
                graph: spec.unfused.clone(),
                inputs: vec![Some(stored(p, step.inputs[0]))],
                output: stored(p, step.output),
            };
            return (kind, report);
        }
    };
    report.backend = Some(chosen.backend.to_string());
    report.kernel = Some(chosen.kernel.to_string());
    report.note = chosen.note;
    let kernel = chosen.kernel;
    let (exec, kind) = match chosen.runner {
        ConvRunner::Cpu(plan) => (Exec::Kernel, ExecKind::Conv { plan, kernel }),
        ConvRunner::Device(op) => (Exec::Device, ExecKind::Device { op, kernel }),
        ConvRunner::DevicePlanned => (Exec::Device, ExecKind::Unprepared { kernel }),
    };
    report.exec = exec;
    (kind, report)
}

/// How `v` is stored.
pub(super) fn stored(p: &Dataflow, v: Vid) -> Stored {
    Stored { ty: p.values[v].ty.clone(), nhwc: p.values[v].nhwc }
}

/// The fast form of a data-movement or reduction `op` on `inputs`, if it has one.
pub(super) fn fast(p: &Dataflow, op: &Op, inputs: &[Vid]) -> Option<ExecKind> {
    let ty = |v: Vid| p.values[v].ty.clone();
    let in_ty = ty(inputs[0]);
    match op {
        Op::Transpose { perm } => {
            Some(ExecKind::Transpose(Transpose::new(&in_ty.shape, perm, in_ty.dtype.size_bytes())))
        }
        Op::Reshape { .. } => Some(ExecKind::Copy),
        Op::Concatenate { axis } => Some(ExecKind::Concat {
            shapes: inputs.iter().map(|&v| ty(v).shape).collect(),
            axis: *axis,
            elem: in_ty.dtype.size_bytes(),
        }),
        // ONNX Runtime copies an input of the output's shape, whatever the mode and roi.
        Op::Resize { resize } if resize.sizes == in_ty.shape => Some(ExecKind::Copy),
        Op::Resize { resize } => {
            let fill =
                tensors::to_bytes(&tensors::from_f32(in_ty.dtype, resize.extrapolation_value)?);
            let elem = in_ty.dtype.size_bytes();
            ResizeNearest::new(&in_ty.shape, resize, elem, &fill).map(ExecKind::ResizeNearest)
        }
        Op::Dilate { dilate } => {
            let fill = tensors::to_bytes(&tensors::from_f32(in_ty.dtype, dilate.value as f32)?);
            let elem = in_ty.dtype.size_bytes();
            ResizeNearest::dilate(&in_ty.shape, dilate, elem, &fill).map(ExecKind::ResizeNearest)
        }
        Op::Slice { starts, steps, sizes } if !in_ty.shape.is_empty() => {
            let elem = in_ty.dtype.size_bytes();
            Some(ExecKind::ResizeNearest(ResizeNearest::slice(
                &in_ty.shape,
                starts,
                steps,
                sizes,
                elem,
            )))
        }
        Op::Sum { axes, .. } => SumBlock::new(&in_ty.shape, axes, in_ty.dtype).map(ExecKind::Sum),
        Op::Pool2d { kind, pool, pad_value } => {
            let [n, c, h, w] = pool.layout.nchw(&in_ty.shape);
            let [pt, pl, pb, pr] = pool.padding;
            let (k, s, d) = (pool.kernel, pool.strides, pool.dilation);
            let oh = window_output(h, pt, pb, k[0], s[0], d[0])?;
            let ow = window_output(w, pl, pr, k[1], s[1], d[1])?;
            Some(ExecKind::Pool(Pool {
                kind: *kind,
                pool: pool.clone(),
                pad_value: *pad_value,
                in_shape: [n, c, h, w],
                out_hw: [oh, ow],
                dtype: in_ty.dtype,
            }))
        }
        _ => None,
    }
}
