//! Plan → program for the typed steps around the convolutions and the lookup groups: the
//! kernel the plan chose (its report names kernel and backend), the runtime's data movement
//! for a concatenation or a transpose no kernel kind covers, or, when no registered kernel
//! takes a typed step, its own nodes on the reference interpreter.

use qnn_ir::Op;

use super::ExecKind;
use super::build::{fast, internal, stored};
use crate::error::RuntimeError;
use crate::optimize::dataflow::{DataOp, DataSpec, Dataflow, Step};
use crate::plan::data::{ChosenData, DataRunner};
use crate::plan::report::{Exec, StepReport};

/// A step on the data kernel the plan chose for it.
pub(super) fn on_kernel(chosen: ChosenData, mut report: StepReport) -> (ExecKind, StepReport) {
    report.exec = Exec::DataKernel;
    report.backend = Some(chosen.backend.to_string());
    report.kernel = Some(chosen.kernel.to_string());
    if !chosen.note.is_empty() {
        report.note = if report.note.is_empty() {
            chosen.note
        } else {
            format!("{}; {}", report.note, chosen.note)
        };
    }
    let kernel = chosen.kernel;
    let kind = match chosen.runner {
        DataRunner::Pool(plan) => ExecKind::PoolKernel { plan, kernel },
        DataRunner::Elementwise(plan) => ExecKind::ElementwiseKernel { plan, kernel },
        DataRunner::Transpose(plan) => ExecKind::TransposeKernel { plan, kernel },
    };
    (kind, report)
}

/// A typed step on its kernel; a concatenation or a plain transpose no kernel kind covers
/// on the runtime's data movement; a step no kernel takes unfused on the reference.
pub(super) fn data(
    p: &Dataflow,
    step: &Step,
    spec: &DataSpec,
    chosen: Option<Result<ChosenData, String>>,
    mut report: StepReport,
) -> Result<(ExecKind, StepReport), RuntimeError> {
    report.op = spec.op.describe();
    match chosen {
        Some(Ok(chosen)) => Ok(on_kernel(chosen, report)),
        Some(Err(why)) => {
            let graph = match &spec.unfused {
                Some(g) => g.clone(),
                None => return Err(internal("a typed step without its unfused graph")),
            };
            report.exec = Exec::Reference;
            report.note = format!("no kernel, runs unfused on the reference: {why}");
            let inputs = step.inputs.iter().enumerate();
            let kind = ExecKind::Unfused {
                graph,
                inputs: inputs
                    .map(|(i, &v)| (!step.inputs[..i].contains(&v)).then(|| stored(p, v)))
                    .collect(),
                output: stored(p, step.output),
            };
            Ok((kind, report))
        }
        None => {
            let op = match &spec.op {
                DataOp::Concat { axis } => Op::Concatenate { axis: *axis },
                DataOp::Transpose { perm, .. } => Op::Transpose { perm: perm.clone() },
                _ => return Err(internal("a typed step without a kernel choice")),
            };
            fast(p, &op, &step.inputs)
                .map(|k| (k, report))
                .ok_or_else(|| internal("a typed movement step without a fast form"))
        }
    }
}
