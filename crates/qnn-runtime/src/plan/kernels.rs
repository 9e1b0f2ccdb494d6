//! Kernel selection for a fused conv/dense: the registered kernels of the backends in order
//! of preference, the cheapest applicable one of the first backend that has one, its
//! weights prepacked once (`ConvPlan::new`). A device backend's kernels are placed and
//! prepared by [`super::device`].

use qnn_ir::DType;
use qnn_ir::backend::{KernelEntry, registry};
use qnn_kernels::{ConvPlan, ConvProblem, applicable, estimated_cost};

use crate::optimize::fuse::ConvSpec;
use crate::plan::device::{DeviceMode, DeviceOp, choose_device_kernel, is_device_backend};

/// What runs a fused op.
#[derive(Debug)]
pub(crate) enum KernelImpl {
    /// A CPU kernel of the shared frame, weights prepacked.
    Cpu(Box<ConvPlan>),
    /// A device kernel, prepared on the device (weights resident).
    Device(DeviceOp),
    /// A device kernel placed by [`DeviceMode::PlanOnly`], not prepared: never run.
    DevicePlanned,
}

/// The kernel chosen for a fused op, with its plan.
#[derive(Debug)]
pub(crate) struct ChosenKernel {
    pub imp: KernelImpl,
    pub backend: &'static str,
    pub kernel: &'static str,
    /// Why this one: the backends tried before it and why they had nothing.
    pub note: String,
}

/// Plans `spec` on the first backend of `order` that has an applicable kernel whose plan
/// succeeds (within a backend, cheapest first by [`estimated_cost`]; a device backend
/// through [`choose_device_kernel`]). `Err` says, per backend, why nothing fit.
pub(crate) fn choose_kernel(
    spec: &ConvSpec,
    order: &[&str],
    mode: DeviceMode,
) -> Result<ChosenKernel, String> {
    let mut skipped: Vec<String> = Vec::new();
    let fallback = |skipped: &[String], note: String| match (skipped.is_empty(), note.is_empty()) {
        (true, _) => note,
        (false, true) => format!("fallback; {}", skipped.join("; ")),
        (false, false) => format!("{note}; fallback; {}", skipped.join("; ")),
    };
    for &backend in order {
        if is_device_backend(backend) {
            match choose_device_kernel(spec, backend, mode) {
                Ok(mut chosen) => {
                    chosen.note = fallback(&skipped, chosen.note);
                    return Ok(chosen);
                }
                Err(why) => {
                    skipped.push(why);
                    continue;
                }
            }
        }
        let mut why_not: Vec<String> = Vec::new();
        let mut planned = plan_on(backend, &spec.problem, spec, &mut why_not);
        let mut note = String::new();
        if planned.is_none()
            && let Some(wide) = widened(&spec.problem)
        {
            planned = plan_on(backend, &wide, spec, &mut why_not);
            note = format!(
                "{}×{} operands run widened on an i16 kernel (no {backend} kernel takes them)",
                spec.problem.data, spec.problem.weight
            );
        }
        if let Some((plan, k)) = planned {
            let note = fallback(&skipped, note);
            let imp = KernelImpl::Cpu(Box::new(plan));
            return Ok(ChosenKernel { imp, backend: k.backend, kernel: k.name, note });
        }
        skipped.push(match why_not.len() {
            0 => format!("{backend} registers no kernel"),
            _ => format!("{backend} has no kernel for it ({})", summarize(&why_not)),
        });
    }
    Err(skipped.join("; "))
}

/// The cheapest kernel of `backend` (by [`estimated_cost`]) whose plan of `problem`
/// succeeds, with that plan; the refusals are added to `why_not`.
fn plan_on(
    backend: &str,
    problem: &ConvProblem,
    spec: &ConvSpec,
    why_not: &mut Vec<String>,
) -> Option<(ConvPlan, &'static KernelEntry)> {
    let mut usable: Vec<&'static KernelEntry> = Vec::new();
    for k in registry::kernels_of(backend) {
        match applicable(k, problem) {
            Ok(()) => usable.push(k),
            Err(e) => why_not.push(e.to_string()),
        }
    }
    usable.sort_by(|a, b| estimated_cost(a, problem).total_cmp(&estimated_cost(b, problem)));
    for k in usable {
        match ConvPlan::new(problem, &spec.weights, &spec.epilogue, k) {
            Ok(plan) => return Some((plan, k)),
            Err(e) => why_not.push(format!("kernel `{}`: {e}", k.name)),
        }
    }
    None
}

/// An int8 problem (8-bit data and weights, no data offset) as one for the i16 kernels: the
/// data widened as it is packed, the weights stored as i16. Same integer products, so the
/// same T1 = Σ P·W in i32 (the accumulator range is proven for it either way); the epilogue
/// (constant, T3, requantize, clamp) is unchanged. For a backend whose int8 kernels lack
/// this operand pair: arm-neon's exact int8 path has s8×s8 and u8×u8, and the legalizer
/// keeps a u8×s8 layer as it is on a backend without a dot product.
fn widened(problem: &ConvProblem) -> Option<ConvProblem> {
    let eight_bit = |d: DType| matches!(d, DType::U8 | DType::I8);
    (eight_bit(problem.data) && eight_bit(problem.weight) && problem.data_offset == 0)
        .then(|| ConvProblem { weight: DType::I16, ..problem.clone() })
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
