//! A static cost model: estimate each candidate from the op's shape and the backend's cost
//! figures, pick the cheapest.

use std::sync::Arc;

use qnn_ir::backend::KernelClass;

use super::calibration::Calibration;
use super::{Candidate, Decision, DecisionContext, Estimate, LoweringPolicy, nothing_safe};
use crate::lowering::Lowering;
use crate::signature::OpSignature;

/// Estimated cycles of a candidate on one core:
///
/// ```text
/// main    = MACs / rate(kernel class)                     (Int8Gemm, Int16Gemm, *Depthwise)
/// T3      = N·OH·OW·C·R·S / rate(WindowSum)               when a weight zero point ≠ 0
/// prepass = N·H·W·C / rate(WindowSum)                     data shift (int8) or widening (int16)
/// memory  = (weight bytes + input bytes + 4·output elements) / bytes_per_cycle
/// total   = main + T3 + prepass + memory
/// ```
///
/// Input bytes are 1 per element for int8 and 3 for int16 (read 1, write and re-read the
/// widened 2); int16 weights count twice the bytes. A missing `WindowSum` figure falls back to
/// the main kernel's rate; a missing main figure leaves the candidate unestimated. With a
/// `memory_budget`, an int16 candidate whose weights would take the total (ops decided so far
/// in graph order, plus this one) past the budget is ruled out. With a [`Calibration`], its
/// fitted figures replace the descriptors' for the backends and classes it measured.
#[derive(Debug, Clone, Default)]
pub struct CostModel {
    /// Bytes of weights the whole model may use.
    pub memory_budget: Option<u64>,
    /// Figures measured on a machine (`cargo xtask calibrate`).
    pub calibration: Option<Arc<Calibration>>,
}

impl CostModel {
    pub fn new() -> CostModel {
        CostModel::default()
    }

    pub fn with_memory_budget(bytes: u64) -> CostModel {
        CostModel { memory_budget: Some(bytes), calibration: None }
    }

    /// This model with the figures of `calibration`.
    pub fn calibrated(mut self, calibration: Calibration) -> CostModel {
        self.calibration = Some(Arc::new(calibration));
        self
    }

    /// The estimate of one candidate, or why there is none.
    pub fn estimate(&self, sig: &OpSignature, c: &Candidate) -> Result<f64, String> {
        let cal = self.calibration.as_deref();
        let (rate, _) = Calibration::rate_or_descriptor(cal, c.backend, c.class)
            .ok_or_else(|| format!("{} gives no {} figure", c.backend.name, c.class.as_str()))?;
        let pass_rate = Calibration::rate_or_descriptor(cal, c.backend, KernelClass::WindowSum)
            .map_or(rate, |(r, _)| r);
        let main = sig.macs as f64 / rate;
        let t3 = if c.needs_t3 { sig.window_sum_elements() as f64 / pass_rate } else { 0.0 };
        let int16 = c.lowering == Lowering::Int16Upcast;
        let prepass =
            if int16 || c.data_shift != 0 { sig.input_elements() as f64 / pass_rate } else { 0.0 };
        let input_bytes = sig.input_elements() * if int16 { 3 } else { 1 };
        let bytes = c.weight_bytes + input_bytes + 4 * sig.output_elements();
        let memory = bytes as f64 / Calibration::bytes_per_cycle(cal, c.backend);
        Ok(main + t3 + prepass + memory)
    }

    /// ` (calibrated)` when the main figure of `c` comes from the calibration.
    fn source(&self, c: &Candidate) -> &'static str {
        let fitted = self
            .calibration
            .as_deref()
            .is_some_and(|cal| cal.rate(c.backend.name, c.class).is_some_and(|r| r > 0.0));
        if fitted { " (calibrated)" } else { "" }
    }

    fn over_budget(&self, ctx: &DecisionContext<'_>, c: &Candidate) -> Option<String> {
        let budget = self.memory_budget?;
        let total = ctx.weight_bytes_committed + c.weight_bytes;
        (c.lowering == Lowering::Int16Upcast && total > budget).then(|| {
            format!(
                "int16 weights ({} B, {total} B with the ops before) exceed the memory budget of {budget} B",
                c.weight_bytes
            )
        })
    }
}

impl LoweringPolicy for CostModel {
    fn name(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.calibration {
            parts.push(format!("calibrated on {}", c.machine));
        }
        if let Some(b) = self.memory_budget {
            parts.push(format!("memory budget {b} B"));
        }
        if parts.is_empty() {
            "cost-model".into()
        } else {
            format!("cost-model({})", parts.join(", "))
        }
    }

    fn decide(&self, ctx: &DecisionContext<'_>) -> Result<Decision, String> {
        let mut estimates = Vec::new();
        let mut best: Option<(usize, f64)> = None;
        for (i, c) in ctx.candidates.iter().enumerate() {
            let est = match self.over_budget(ctx, c) {
                Some(why) => Err(why),
                None => self.estimate(ctx.signature, c),
            };
            let (cycles, note) = match est {
                Ok(cy) => {
                    (Some(cy), format!("{}{}; {}", c.class.as_str(), self.source(c), dtype_note(c)))
                }
                Err(why) => (None, why),
            };
            if let Some(cy) = cycles
                && best.is_none_or(|(_, b)| cy < b)
            {
                best = Some((i, cy));
            }
            estimates.push(Estimate {
                backend: c.backend.name.into(),
                lowering: c.lowering,
                cycles,
                note,
                measured_ns: None,
            });
        }
        let Some((choice, cycles)) = best else {
            if ctx.candidates.is_empty() {
                return Err(nothing_safe(ctx));
            }
            let why = estimates.iter().map(|e| e.note.clone()).collect::<Vec<_>>().join("; ");
            return Err(format!("no candidate could be estimated: {why}"));
        };
        let runner_up = estimates
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != choice)
            .filter_map(|(i, e)| e.cycles.map(|cy| (i, cy)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let c = &ctx.candidates[choice];
        let reason = match runner_up {
            Some((j, other)) => format!(
                "{} is cheapest: {:.0} cycles vs {:.0} for {}",
                c.describe(),
                cycles,
                other,
                ctx.candidates[j].describe()
            ),
            None => format!(
                "{} is the only candidate that can be estimated ({cycles:.0} cycles)",
                c.describe()
            ),
        };
        Ok(Decision { choice, reason, estimates })
    }
}

fn dtype_note(c: &Candidate) -> String {
    let mut s = format!("{}×{}", c.operands.0, c.operands.1);
    if c.needs_t3 {
        s += ", T3 pass";
    }
    if c.data_shift != 0 {
        s += &format!(", data shift {:+}", c.data_shift);
    }
    s
}
