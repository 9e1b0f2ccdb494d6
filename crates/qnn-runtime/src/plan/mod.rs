//! Planning, on the optimized (fused, NHWC) dataflow: a kernel for every fused conv/dense
//! and every typed step around them, the units of execution, and a buffer for every runtime
//! value.
//!
//! [`plan`] runs these steps a reader can name:
//! 1. [`choose_kernels`]: per fused conv/dense, the registered kernel that computes it (the
//!    legalizer's backend first), weights prepacked once, or a device op prepared
//!    ([`kernels`], [`device`]); per typed pooling, element-wise or layout step, the kernel
//!    of the first backend that has one, planned on the frame ([`data`]);
//! 2. [`units::units`]: element-wise steps grouped into one register program each, a
//!    transpose that follows a group fused into its store; a group that is a function of
//!    one 8-bit value becomes one lookup kernel ([`data::lookup`]);
//! 3. [`arena::assign`]: a range of one arena per runtime value, shared by values whose
//!    lifetimes do not overlap, every buffer and the arena within the limits.
//!
//! The [`program`](crate::program) is built from the plan; [`report`] describes it.

pub(crate) mod arena;
pub(crate) mod data;
pub(crate) mod device;
pub(crate) mod kernels;
pub mod report;
pub(crate) mod units;

use std::collections::HashMap;

use qnn_ir::limits::Limits;

use crate::error::RuntimeError;
use crate::optimize::dataflow::{Dataflow, Step, StepKind};
use arena::Buffers;
use data::{ChosenData, choose_data, choose_op};
use device::{DeviceMode, is_device_backend};
use kernels::{ChosenKernel, choose_kernel};
use units::Unit;

/// A planned dataflow.
#[derive(Debug)]
pub(crate) struct Plan {
    pub dataflow: Dataflow,
    /// Per fused conv/dense step (by step index): its kernel, or why none takes it (the step
    /// then runs its unfused graph on the reference interpreter).
    pub kernels: HashMap<usize, Result<ChosenKernel, String>>,
    /// Per typed step (by step index) that a kernel kind computes: its kernel, or why none
    /// takes it (the step then runs its unfused graph on the reference interpreter).
    pub data: HashMap<usize, Result<ChosenData, String>>,
    /// In execution order.
    pub units: Vec<Unit>,
    /// Per element-wise group (by unit index) that is one function of an 8-bit value: its
    /// lookup kernel, or why none takes it (the group then runs as it is).
    pub lookups: HashMap<usize, Result<ChosenData, String>>,
    pub buffers: Buffers,
}

/// Plans `dataflow` with the kernels of `backends` (in order of preference); device ops are
/// prepared or only placed as `mode` says. Every buffer within `limits.max_tensor_bytes`, the
/// arena of a run within `limits.max_graph_bytes` (checked here, before any run allocates it).
pub(crate) fn plan(
    dataflow: Dataflow,
    backends: &[&str],
    mode: DeviceMode,
    limits: &Limits,
) -> Result<Plan, RuntimeError> {
    let kernels = choose_kernels(&dataflow, backends, mode);
    // The ops around the convolutions run on the CPU.
    let backends: Vec<&str> = backends.iter().copied().filter(|b| !is_device_backend(b)).collect();
    let backends = &backends[..];
    let data = choose_data_kernels(&dataflow, backends);
    let units = units::units(&dataflow);
    let lookups = units
        .iter()
        .enumerate()
        .filter_map(|(u, unit)| Some((u, data::lookup(&dataflow, unit, backends)?)))
        .collect();
    let buffers = arena::assign(&dataflow, &units, limits)?;
    Ok(Plan { dataflow, kernels, data, units, lookups, buffers })
}

/// A kernel for every typed step of `dataflow` that a kernel kind computes, and for every
/// core op one computes as it is.
fn choose_data_kernels(
    dataflow: &Dataflow,
    backends: &[&str],
) -> HashMap<usize, Result<ChosenData, String>> {
    let choose = |s: &Step| match &s.kind {
        StepKind::Data(spec) => choose_data(dataflow, s, spec, backends),
        StepKind::Op(op) => choose_op(dataflow, s, op, backends),
        StepKind::Conv(_) => None,
    };
    dataflow.steps.iter().enumerate().filter_map(|(i, s)| Some((i, choose(s)?))).collect()
}

/// A kernel for every fused conv/dense step of `dataflow`.
fn choose_kernels(
    dataflow: &Dataflow,
    backends: &[&str],
    mode: DeviceMode,
) -> HashMap<usize, Result<ChosenKernel, String>> {
    dataflow
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.kind {
            StepKind::Conv(spec) => Some((i, choose_kernel(spec, backends, mode))),
            StepKind::Op(_) | StepKind::Data(_) => None,
        })
        .collect()
}
