//! Kernel selection for a fused conv/dense: the registered kernels of the backends in order
//! of preference (the legalizer's backend for the op first), the cheapest applicable one of
//! the first backend that has one, its weights prepacked once (`ConvPlan::new`). A device
//! backend's kernels are placed and prepared by [`super::device`].

use qnn_ir::DType;
use qnn_ir::backend::{KernelEntry, PreparedDeviceOp, registry};
use qnn_kernels::{ConvPlan, ConvProblem, KernelError, applicable, estimated_cost, fits_operands};

use crate::optimize::dataflow::ConvSpec;
use crate::plan::device::{self, DeviceMode, is_device_backend};

/// What runs a fused op.
#[derive(Debug)]
pub(crate) enum ConvRunner {
    /// A CPU kernel of the shared frame, weights prepacked.
    Cpu(Box<ConvPlan>),
    /// A device kernel, prepared on the device (weights resident).
    Device(Box<dyn PreparedDeviceOp>),
    /// A device kernel placed by [`DeviceMode::PlanOnly`], not prepared: never run.
    DevicePlanned,
}

/// The kernel chosen for a fused op, with its plan.
#[derive(Debug)]
pub(crate) struct ChosenKernel {
    pub runner: ConvRunner,
    pub backend: &'static str,
    pub kernel: &'static str,
    /// Why this one: the backends tried before it and why they had nothing.
    pub note: String,
}

/// `backends` with the legalizer's choice for the op first (when it is one of them).
fn preference<'a>(backends: &[&'a str], chosen: Option<&str>) -> Vec<&'a str> {
    let first = backends.iter().copied().filter(|&b| Some(b) == chosen);
    first.chain(backends.iter().copied().filter(|&b| Some(b) != chosen)).collect()
}

/// Plans `spec` on the first backend of `backends` (the legalizer's choice moved first) that
/// has an applicable kernel whose plan succeeds (within a backend, cheapest first by
/// [`estimated_cost`]; a device backend through [`device::place`]). `Err` says, per
/// backend, why nothing fit.
pub(crate) fn choose_kernel(
    spec: &ConvSpec,
    backends: &[&str],
    mode: DeviceMode,
) -> Result<ChosenKernel, String> {
    let order = preference(backends, spec.backend);
    let mut skipped: Vec<String> = Vec::new();
    let fallback = |skipped: &[String], note: String| match (skipped.is_empty(), note.is_empty()) {
        (true, _) => note,
        (false, true) => format!("fallback; {}", skipped.join("; ")),
        (false, false) => format!("{note}; fallback; {}", skipped.join("; ")),
    };
    for backend in order {
        if is_device_backend(backend) {
            match device::place(spec, backend, mode) {
                Ok(p) => {
                    let runner = p.op.map_or(ConvRunner::DevicePlanned, ConvRunner::Device);
                    let note = fallback(&skipped, p.note);
                    return Ok(ChosenKernel { runner, backend: p.backend, kernel: p.kernel, note });
                }
                Err(why) => {
                    skipped.push(why);
                    continue;
                }
            }
        }
        let wide = widened(&spec.problem);
        let mut why_not: Vec<Refusal<'_>> = Vec::new();
        let mut planned = plan_on(backend, &spec.problem, spec, &mut why_not);
        let mut note = String::new();
        if planned.is_none()
            && let Some(wide) = &wide
        {
            planned = plan_on(backend, wide, spec, &mut why_not);
            note = format!(
                "{}×{} operands run widened on an i16 kernel (no {backend} kernel takes them)",
                spec.problem.data, spec.problem.weight
            );
        }
        if let Some((plan, k)) = planned {
            let note = fallback(&skipped, note);
            let runner = ConvRunner::Cpu(Box::new(plan));
            return Ok(ChosenKernel { runner, backend: k.backend, kernel: k.name, note });
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
fn plan_on<'p>(
    backend: &str,
    problem: &'p ConvProblem,
    spec: &ConvSpec,
    why_not: &mut Vec<Refusal<'p>>,
) -> Option<(ConvPlan, &'static KernelEntry)> {
    let mut usable: Vec<&'static KernelEntry> = Vec::new();
    for k in registry::kernels_of(backend) {
        if !fits_operands(k, problem) {
            why_not.push(Refusal::Unfit { entry: k, problem });
            continue;
        }
        match applicable(k, problem) {
            Ok(()) => usable.push(k),
            Err(e) => why_not.push(Refusal::Refused { kernel: None, why: e }),
        }
    }
    usable.sort_by(|a, b| estimated_cost(a, problem).total_cmp(&estimated_cost(b, problem)));
    for k in usable {
        match ConvPlan::new(problem, spec.weight_values(), &spec.epilogue, k) {
            Ok(plan) => return Some((plan, k)),
            Err(e) => why_not.push(Refusal::Refused { kernel: Some(k.name), why: e }),
        }
    }
    None
}

/// Why a kernel was not taken, kept as a value and put into words only when no kernel of the
/// backend fits (formatting every refusal of every layer was a tenth of a deep model's
/// compile time).
#[derive(Debug)]
enum Refusal<'p> {
    /// A kernel of other operand types or another kind ([`fits_operands`]): [`applicable`]
    /// words why when it is reported.
    Unfit { entry: &'static KernelEntry, problem: &'p ConvProblem },
    Refused {
        /// The kernel whose plan failed; `None` where it does not apply to the problem at
        /// all (the error names what differs).
        kernel: Option<&'static str>,
        why: KernelError,
    },
}

impl std::fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Unfit { entry, problem } => match applicable(entry, problem) {
                Err(why) => write!(f, "{why}"),
                Ok(()) => write!(f, "kernel `{}` does not fit the layer", entry.name),
            },
            Refusal::Refused { kernel: Some(k), why } => write!(f, "kernel `{k}`: {why}"),
            Refusal::Refused { kernel: None, why } => write!(f, "{why}"),
        }
    }
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
fn summarize(refusals: &[Refusal<'_>]) -> String {
    let reasons: Vec<String> = refusals.iter().map(Refusal::to_string).collect();
    let mut distinct: Vec<&String> = Vec::new();
    for r in &reasons {
        if !distinct.contains(&r) {
            distinct.push(r);
        }
    }
    let shown: Vec<&str> = distinct.iter().take(3).map(|s| s.as_str()).collect();
    let more = distinct.len().saturating_sub(shown.len());
    if more > 0 { format!("{}; and {more} more", shown.join("; ")) } else { shown.join("; ") }
}
