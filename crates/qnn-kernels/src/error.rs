//! The one error type of `qnn-kernels`.

use qnn_ir::DType;

/// Why a layer cannot be planned or run with a kernel. Every variant names what is wrong and
/// the offending value; a runtime that gets one falls back to another kernel or to the
/// reference interpreter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    #[error("conv geometry: {0}")]
    Geometry(String),

    #[error("{what}: dtype {dtype} is not supported here ({why})")]
    DType { what: &'static str, dtype: DType, why: &'static str },

    #[error("{what}: value {value} does not fit {dtype}")]
    ValueRange { what: &'static str, value: i64, dtype: DType },

    #[error("{what}: expected {expected} element(s), got {got}")]
    Length { what: &'static str, expected: usize, got: usize },

    #[error("epilogue: {0}")]
    Epilogue(String),

    /// A parameter of an op outside what its kernels compute exactly: `what` names it, its
    /// value and the rule (see [`KernelError::parameter`]).
    #[error("{op}: {what}")]
    Parameter { op: &'static str, what: String },

    #[error(
        "output channel {channel}: the accumulator can reach {value}, outside i32; split the reduction or use the reference"
    )]
    AccumulatorRange { channel: usize, value: i64 },

    #[error("kernel `{kernel}` does not apply: {why}")]
    NotApplicable { kernel: &'static str, why: String },

    #[error("kernel `{kernel}` cannot run on this CPU: {why}")]
    Unavailable { kernel: &'static str, why: String },

    #[error("no kernel can compute the layer: {0}")]
    NoKernel(String),

    #[error("scratch: {0}")]
    Scratch(String),

    #[error("a worker thread panicked: {0}")]
    WorkerPanicked(String),

    /// The system refused a worker thread of a pool of `threads` (after `started` threads).
    #[error(
        "cannot start a pool of {threads} threads: the system refused thread {started} ({why})"
    )]
    Spawn { threads: usize, started: usize, why: String },
}

impl KernelError {
    /// [`KernelError::Parameter`]: "`op`: `what` `value`: `why`".
    pub fn parameter(
        op: &'static str,
        what: &str,
        value: impl std::fmt::Display,
        why: impl std::fmt::Display,
    ) -> Self {
        KernelError::Parameter { op, what: format!("{what} {value}: {why}") }
    }
}
