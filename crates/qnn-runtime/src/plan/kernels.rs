//! Kernel selection for a fused conv/dense: the registered kernels of the backends in order
//! of preference, the cheapest applicable one of the first backend that has one, its
//! weights prepacked once (`ConvPlan::new`).

use qnn_ir::backend::{KernelEntry, registry};
use qnn_kernels::{ConvPlan, applicable, estimated_cost};

use crate::optimize::fuse::ConvSpec;

/// The kernel chosen for a fused op, with its plan.
#[derive(Debug)]
pub(crate) struct ChosenKernel {
    pub plan: ConvPlan,
    pub backend: &'static str,
    pub kernel: &'static str,
    /// Why this one: the backends tried before it and why they had nothing.
    pub note: String,
}

/// Plans `spec` on the first backend of `order` that has an applicable kernel whose plan
/// succeeds (within a backend, cheapest first by [`estimated_cost`]). `Err` says, per
/// backend, why nothing fit.
pub(crate) fn choose_kernel(spec: &ConvSpec, order: &[&str]) -> Result<ChosenKernel, String> {
    let mut skipped: Vec<String> = Vec::new();
    for &backend in order {
        let mut usable: Vec<&'static KernelEntry> = Vec::new();
        let mut why_not: Vec<String> = Vec::new();
        for k in registry::kernels_of(backend) {
            match applicable(k, &spec.problem) {
                Ok(()) => usable.push(k),
                Err(e) => why_not.push(e.to_string()),
            }
        }
        usable.sort_by(|a, b| {
            estimated_cost(a, &spec.problem).total_cmp(&estimated_cost(b, &spec.problem))
        });
        for k in usable {
            match ConvPlan::new(&spec.problem, &spec.weights, &spec.epilogue, k) {
                Ok(plan) => {
                    let note = if skipped.is_empty() {
                        String::new()
                    } else {
                        format!("fallback; {}", skipped.join("; "))
                    };
                    return Ok(ChosenKernel { plan, backend: k.backend, kernel: k.name, note });
                }
                Err(e) => why_not.push(format!("kernel `{}`: {e}", k.name)),
            }
        }
        skipped.push(match why_not.len() {
            0 => format!("{backend} registers no kernel"),
            _ => format!("{backend} has no kernel for it ({})", summarize(&why_not)),
        });
    }
    Err(skipped.join("; "))
}

/// The distinct reasons, joined (kernels of a backend often fail for the same reason).
fn summarize(reasons: &[String]) -> String {
    let mut distinct: Vec<&String> = Vec::new();
    for r in reasons {
        if !distinct.contains(&r) {
            distinct.push(r);
        }
    }
    let shown: Vec<&str> = distinct.iter().take(3).map(|s| s.as_str()).collect();
    let more = distinct.len().saturating_sub(shown.len());
    if more > 0 { format!("{}; and {more} more", shown.join("; ")) } else { shown.join("; ") }
}
