//! Choosing a kernel around convolutions (pooling, element-wise, transpose): among the
//! registered kernels, the applicable one of the first backend in a preference order that
//! has one — the order the runtime plans fused convolutions in (the target's backends by
//! priority, a legalizer hint first, `portable` last).
//!
//! Within one backend the applicable kernels are tried in name order (the registry's):
//! these kernels have no tile to cost, and a backend offers one per op and dtypes and ISA
//! variant, of which the probes leave the usable ones.

use qnn_ir::backend::{KernelEntry, registry};

use crate::error::KernelError;

/// `Ok` when the backend of `entry` (if registered) and the kernel itself can run here.
pub(crate) fn probes(entry: &KernelEntry) -> Result<(), KernelError> {
    let unavailable = |why| KernelError::Unavailable { kernel: entry.name, why };
    if let Some(backend) = registry::backend(entry.backend) {
        backend.probe().map_err(unavailable)?;
    }
    entry.probe().map_err(unavailable)
}

/// The first kernel, over the backends of `order` in turn, that `applicable` accepts; the
/// error says, per backend, why none did. `what` names the op for that message.
pub fn choose_in_order(
    order: &[&str],
    what: &str,
    applicable: impl Fn(&KernelEntry) -> Result<(), KernelError>,
) -> Result<&'static KernelEntry, KernelError> {
    let mut skipped = Vec::new();
    for &backend in order {
        let kernels = registry::kernels_of(backend);
        let mut why_not = Vec::new();
        for k in &kernels {
            match applicable(k) {
                Ok(()) => return Ok(k),
                Err(e) => why_not.push(e),
            }
        }
        // Kernels of other kinds say so; the interesting refusals are the others.
        let relevant: Vec<String> = why_not
            .iter()
            .filter(|e| !matches!(e, KernelError::NotApplicable { why, .. } if why.starts_with("it is not")))
            .map(|e| e.to_string())
            .collect();
        skipped.push(if relevant.is_empty() {
            format!("{backend} has no {what} kernel")
        } else {
            format!("{backend}: {}", relevant.join("; "))
        });
    }
    if skipped.is_empty() {
        skipped.push("no backend given".into());
    }
    Err(KernelError::NoKernel(format!("{what}: {}", skipped.join("; "))))
}

/// The refusal of a kernel of another kind.
pub(crate) fn other_kind(entry: &KernelEntry, kind: &str) -> KernelError {
    KernelError::NotApplicable { kernel: entry.name, why: format!("it is not a {kind} kernel") }
}

/// The refusal of a kernel for other dtypes.
pub(crate) fn other_dtypes(entry: &KernelEntry, has: String, needs: String) -> KernelError {
    KernelError::NotApplicable {
        kernel: entry.name,
        why: format!("it computes {has}, not {needs}"),
    }
}
