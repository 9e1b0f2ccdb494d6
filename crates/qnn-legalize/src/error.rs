//! The one error type of `qnn-legalize`. Every variant names the op (node) or the target and
//! the offending value.

use qnn_ir::IrError;

/// Why a graph could not be legalized, or a target not built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LegalizeError {
    /// The target string is not `TRIPLE[:CPU|:+FEATURE,…]` or `cuda[:sm_XX]` for a known arch.
    #[error("unknown target `{name}`; known targets: {known}")]
    UnknownTarget { name: String, known: String },

    /// The CPU (or feature) after the triple is not in the table.
    #[error(
        "unknown CPU or feature `{given}` for {arch}; known CPUs: {cpus}; known features: {features}"
    )]
    UnknownCpu { arch: String, given: String, cpus: String, features: String },

    /// `Target::restrict_to` named a backend the target does not have.
    #[error("backend `{name}` is not in target `{target}` (it has: {available})")]
    UnknownBackend { name: String, target: String, available: String },

    /// A conv/dense needs a decision but the target has no backend at all.
    #[error(
        "{op} `{node}`: target `{target}` has no backend to run it (registered backends: {registered})"
    )]
    NoBackend { op: String, node: String, target: String, registered: String },

    /// Range analysis could not prove that any lowering stays inside int32.
    #[error("{op} `{node}`: no lowering is provably free of int32 overflow: {detail}")]
    Overflow { op: String, node: String, detail: String },

    /// The weights of a conv/dense must be constants: both lowerings fold them.
    #[error(
        "{op} `{node}`: the kernel `{value}` must be a constant (weights are folded at legalization)"
    )]
    NonConstantWeights { op: String, node: String, value: String },

    /// A form the lowerings cannot express exactly.
    #[error("{op} `{node}`: unsupported: {what}")]
    Unsupported { op: String, node: String, what: String },

    /// The policy refused every candidate (e.g. a forced lowering that is not provably safe).
    #[error("{op} `{node}`: policy `{policy}` refused: {reason}")]
    PolicyRefused { op: String, node: String, policy: String, reason: String },

    /// The input graph is invalid, or building the lowered graph failed.
    #[error(transparent)]
    Ir(#[from] IrError),
}
