//! The plan report: per step, what it computes and what runs it (a kernel of which backend,
//! a fast portable implementation in the runtime, or the reference interpreter) and why.
//! Printable as a table ([`Display`](std::fmt::Display)) and as JSON.

use std::fmt;

use qnn_legalize::Explanation;
use serde::{Deserialize, Serialize};

/// What runs a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Exec {
    /// A registered CPU kernel of a backend (fused conv/dense).
    Kernel,
    /// A registered CPU kernel of a backend for an op around the convolutions (pooling,
    /// QLinearAdd, quantize, dequantize, a lookup, a layout conversion), run by the frame's
    /// `PoolPlan`, `ElementwisePlan` or `TransposePlan`.
    DataKernel,
    /// A device kernel (fused conv/dense on a GPU): weights resident on the device, input
    /// and output moved by the runtime on every run.
    Device,
    /// A fast implementation in the runtime (element-wise groups, layout conversions and
    /// pooling that no kernel takes, reductions, data movement), bit-exact with the
    /// reference.
    Fast,
    /// The reference interpreter of `qnn-ir` (exact, slow): the note says why.
    Reference,
}

impl Exec {
    pub fn as_str(self) -> &'static str {
        match self {
            Exec::Kernel => "kernel",
            Exec::DataKernel => "data kernel",
            Exec::Device => "device",
            Exec::Fast => "fast",
            Exec::Reference => "reference",
        }
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// The step's name (the conv node's, or the first op's).
    pub step: String,
    /// What it computes (`conv2d 3×3 s2`, `depthwise conv2d 3×3`, `dense`, `element-wise
    /// (7 ops)`, `transpose`, …).
    pub op: String,
    pub exec: Exec,
    pub backend: Option<String>,
    pub kernel: Option<String>,
    /// The conv/dense lowering (`int8-terms`, `int16-upcast`).
    pub lowering: Option<String>,
    /// What a fused op absorbed (`channel constant`, `T3 window sums`, `requantize(float) → u8`,
    /// `clip [0, 255]`, …).
    pub fused: Vec<String>,
    /// The lowered-graph nodes it computes.
    pub nodes: Vec<String>,
    /// Output type and storage (`u8[1,56,56,24] NHWC`).
    pub output: String,
    /// Why it runs the way it does, when that needs saying.
    pub note: String,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanReport {
    pub model: String,
    pub target: String,
    pub policy: String,
    /// The backend forced for the whole model, if any.
    pub forced_backend: Option<String>,
    /// Backends whose kernels were considered, in order of preference.
    pub backends: Vec<String>,
    pub threads: usize,
    pub steps: Vec<StepReport>,
    /// Bytes of the activation arena (one per concurrent run).
    pub arena_bytes: usize,
    /// Bytes of constants kept by the plan (element-wise operands, reference-step operands).
    pub constant_bytes: usize,
    /// Bytes of the conv/dense weights prepacked for the CPU kernels.
    #[serde(default)]
    pub packed_weight_bytes: usize,
    /// The legalizer's decisions, when the model was compiled from a QNN graph.
    pub legalization: Option<Explanation>,
}

impl PlanReport {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    pub fn from_json(s: &str) -> Result<PlanReport, serde_json::Error> {
        serde_json::from_str(s)
    }

    /// The report of the step named `name`.
    pub fn step(&self, name: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.step == name)
    }

    /// Steps run by `exec`.
    pub fn count(&self, exec: Exec) -> usize {
        self.steps.iter().filter(|s| s.exec == exec).count()
    }
}

impl fmt::Display for PlanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plan of `{}` for {} ({} threads)", self.model, self.target, self.threads)?;
        writeln!(f, "policy: {}", self.policy)?;
        if let Some(b) = &self.forced_backend {
            writeln!(f, "forced backend: {b}")?;
        }
        writeln!(f, "kernel backends, in order: {}", self.backends.join(", "))?;
        let rows: Vec<[String; 4]> = self
            .steps
            .iter()
            .map(|s| {
                let runs = match (&s.backend, &s.kernel) {
                    (Some(b), Some(k)) if s.exec == Exec::Device => format!("{b} {k} (device)"),
                    (Some(b), Some(k)) => format!("{b} {k}"),
                    _ => s.exec.as_str().to_string(),
                };
                let mut detail = Vec::new();
                if let Some(l) = &s.lowering {
                    detail.push(l.clone());
                }
                if !s.fused.is_empty() {
                    detail.push(format!("fused: {}", s.fused.join(", ")));
                }
                if !s.note.is_empty() {
                    detail.push(s.note.clone());
                }
                [s.step.clone(), format!("{} → {}", s.op, s.output), runs, detail.join("; ")]
            })
            .collect();
        let head = ["step", "computes", "runs on", "detail"];
        let width = |i: usize| {
            rows.iter().map(|r| r[i].chars().count()).chain([head[i].len()]).max().unwrap_or(0)
        };
        let w = [width(0), width(1), width(2)];
        writeln!(
            f,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            head[0],
            head[1],
            head[2],
            head[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        )?;
        for r in &rows {
            writeln!(
                f,
                "{:<w0$}  {:<w1$}  {:<w2$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2]
            )?;
        }
        writeln!(
            f,
            "{} steps: {} on kernels, {} on data kernels, {} on a device, {} fast, {} on the \
             reference; arena {} B, constants {} B, packed weights {} B",
            self.steps.len(),
            self.count(Exec::Kernel),
            self.count(Exec::DataKernel),
            self.count(Exec::Device),
            self.count(Exec::Fast),
            self.count(Exec::Reference),
            self.arena_bytes,
            self.constant_bytes,
            self.packed_weight_bytes
        )
    }
}
