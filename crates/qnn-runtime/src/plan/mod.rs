//! Planning, on the optimized (fused, NHWC) dataflow: a kernel for every fused conv/dense,
//! the units of execution, and a buffer for every runtime value.
//!
//! [`plan`] runs three steps a reader can name:
//! 1. [`choose_kernels`]: per fused conv/dense, the registered kernel that computes it (the
//!    legalizer's backend first), weights prepacked once, or a device op prepared
//!    ([`kernels`], [`device`]);
//! 2. [`units::units`]: element-wise steps grouped into one register program each, a
//!    transpose that follows a group fused into its store;
//! 3. [`arena::assign`]: a range of one arena per runtime value, shared by values whose
//!    lifetimes do not overlap, every buffer and the arena within the limits.
//!
//! The [`program`](crate::program) is built from the plan; [`report`] describes it.

pub(crate) mod arena;
pub(crate) mod device;
pub(crate) mod kernels;
pub mod report;
pub(crate) mod units;

use std::collections::HashMap;

use qnn_ir::limits::Limits;

use crate::error::RuntimeError;
use crate::optimize::dataflow::{Dataflow, StepKind};
use arena::Buffers;
use device::DeviceMode;
use kernels::{ChosenKernel, choose_kernel};
use units::Unit;

/// A planned dataflow.
#[derive(Debug)]
pub(crate) struct Plan {
    pub dataflow: Dataflow,
    /// Per fused conv/dense step (by step index): its kernel, or why none takes it (the step
    /// then runs its unfused graph on the reference interpreter).
    pub kernels: HashMap<usize, Result<ChosenKernel, String>>,
    /// In execution order.
    pub units: Vec<Unit>,
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
    let units = units::units(&dataflow);
    let buffers = arena::assign(&dataflow, &units, limits)?;
    Ok(Plan { dataflow, kernels, units, buffers })
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
            StepKind::Op(_) => None,
        })
        .collect()
}
