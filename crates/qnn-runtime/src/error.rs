//! The one error type of `qnn-runtime`. Every variant names what is wrong and the value.

use qnn_ir::{DType, IrError};
use qnn_kernels::KernelError;
use qnn_legalize::LegalizeError;

/// Why a graph could not be compiled, or a compiled model not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    /// `QNN_BACKEND` or [`CompileOptions::backend`](crate::CompileOptions::backend) names a
    /// backend that is not registered in this binary.
    #[error("unknown backend `{name}`; registered backends: {registered}")]
    UnknownBackend { name: String, registered: String },

    /// The forced backend is registered but its probe fails on this machine.
    #[error("backend `{name}` cannot run on this machine: {why}")]
    BackendUnavailable { name: String, why: String },

    /// The target runs conv/dense ops on a device backend that cannot run here (no GPU, no
    /// driver, …). [`Compiler::plan`](crate::Compiler::plan) still shows the plan.
    #[error(
        "target `{target}` runs conv/dense ops on the device backend `{backend}`, which cannot \
         run on this machine: {why}. (Compiler::plan shows the plan without a device.)"
    )]
    DeviceUnavailable { target: String, backend: String, why: String },

    /// Legalization failed (unsupported op, overflow, policy refusal, bad target, …).
    #[error("legalize: {0}")]
    Legalize(#[from] LegalizeError),

    /// The graph (or a graph given as already legalized) is invalid, or a reference step
    /// failed while running.
    #[error(transparent)]
    Ir(#[from] IrError),

    /// A graph given to [`Compiler::compile_lowered`](crate::Compiler::compile_lowered) still
    /// holds QNN ops.
    #[error("node `{node}`: {op} is a QNN op; compile_lowered takes core ops only (use compile)")]
    NotLowered { node: String, op: String },

    /// A kernel failed at run time (a worker panicked, scratch too small, …).
    #[error("{node}: kernel `{kernel}`: {source}")]
    Kernel { node: String, kernel: String, source: KernelError },

    /// The thread pool could not be started (the system refused a worker thread).
    #[error("{0}")]
    Threads(#[source] KernelError),

    /// A device kernel failed at run time (a driver error, a lost device, …).
    #[error("{node}: device kernel `{kernel}`: {why}")]
    Device { node: String, kernel: String, why: String },

    /// Wrong number of inputs for [`CompiledModel::run`](crate::CompiledModel::run).
    #[error("model `{model}` takes {expected} input(s) ({names}), got {got}")]
    InputCount { model: String, expected: usize, names: String, got: usize },

    /// An input of the wrong element type.
    #[error("input {index} `{name}`: expected dtype {expected}, got {got}")]
    InputDType { index: usize, name: String, expected: DType, got: DType },

    /// An input of the wrong shape.
    #[error("input {index} `{name}`: expected shape {expected:?}, got {got:?}")]
    InputShape { index: usize, name: String, expected: Vec<usize>, got: Vec<usize> },

    /// An integer element-wise op produced a value outside its dtype (the reference reports
    /// the same overflow; nothing wraps).
    #[error("{op}: value {value} does not fit {dtype}")]
    ValueOutOfRange { op: String, value: i64, dtype: DType },

    /// A compile-time invariant of the planner did not hold (a bug: please report it).
    #[error("internal planner error: {0}")]
    Internal(String),
}
