//! One layer: both lowerings timed on every usable backend (each backend's pair
//! alternately), and what each policy picks — per backend (the target restricted to it, as
//! `QNN_BACKEND` does) and for the whole host (the policy also picks the backend).

use std::sync::Arc;

use anyhow::Context;
use qnn_legalize::{Lowering, LoweringPolicy, OpSignature, Target, legalize};
use qnn_tune::measure::prepare;
use qnn_tune::single_op::single_op_model;
use qnn_tune::timing::{MeasureSettings, Runnable, Sample, time_alternately};
use serde::{Deserialize, Serialize};

/// Two times closer than this (relative) are a tie: the machine's run-to-run noise on a
/// median (peer figures: about 3 %).
pub const TIE: f64 = 0.03;

/// One lowering timed on one backend: on its own kernel, or on the backend the runtime
/// falls back to when it has none (`ran_on`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub backend: String,
    pub lowering: Lowering,
    pub kernel: String,
    /// The backend whose kernel ran it.
    pub ran_on: String,
    pub operands: String,
    #[serde(flatten)]
    pub sample: Sample,
}

/// How a pick compares with the fastest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The fastest.
    Fastest,
    /// Not the fastest, but within [`TIE`] of it.
    Tie,
    /// Slower than the fastest by this fraction.
    Slower(f64),
    /// The pick has no timing (a lowering without a kernel on that backend).
    Unmeasured,
}

impl Verdict {
    pub fn strict(self) -> bool {
        self == Verdict::Fastest
    }
    pub fn within_noise(self) -> bool {
        matches!(self, Verdict::Fastest | Verdict::Tie)
    }
}

/// What one policy chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pick {
    pub policy: String,
    pub backend: String,
    pub lowering: Lowering,
    pub time_ns: Option<f64>,
    pub verdict: Verdict,
    pub reason: String,
}

/// A (layer, scope) pair: a backend, or `host` (every usable backend: the policy picks the
/// backend too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub scope: String,
    /// Every candidate's timing (`host`: every backend's), fallbacks included.
    pub times: Vec<Timing>,
    pub fastest: Option<(String, Lowering)>,
    pub picks: Vec<Pick>,
}

impl Timing {
    /// Run by its own backend's kernel, not a fallback.
    pub fn own(&self) -> bool {
        self.ran_on == self.backend
    }
}

impl Pair {
    /// True when the pair counts for decision quality: a backend with both lowerings on its
    /// own kernels (a lowering it has no kernel for is no real alternative), or the host
    /// with at least two candidates.
    pub fn decided(&self) -> bool {
        let own = self.times.iter().filter(|t| t.own()).count();
        if self.scope == "host" { self.times.len() >= 2 } else { own >= 2 }
    }

    pub fn time(&self, backend: &str, lowering: Lowering) -> Option<&Timing> {
        self.times.iter().find(|t| t.backend == backend && t.lowering == lowering)
    }

    pub fn best_ns(&self) -> Option<f64> {
        self.times.iter().map(|t| t.sample.median_ns).min_by(f64::total_cmp)
    }
}

/// One layer's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerResult {
    pub name: String,
    pub shape: String,
    pub macs: u64,
    /// One per usable backend, then `host`.
    pub pairs: Vec<Pair>,
}

/// `conv 3×3 s2 224²×3→64`, `dense 1280→1000`, `depthwise 3×3 112²×32`.
pub fn shape(sig: &OpSignature) -> String {
    use qnn_legalize::OpKind;
    let stride = if sig.strides[0] > 1 { format!(" s{}", sig.strides[0]) } else { String::new() };
    match sig.kind {
        OpKind::Dense => format!("dense {}→{}", sig.c, sig.o),
        OpKind::DepthwiseConv2d => {
            format!("depthwise {}×{}{stride} {}²×{}", sig.r, sig.s, sig.h, sig.c)
        }
        OpKind::Conv2d => {
            format!("conv {}×{}{stride} {}²×{}→{}", sig.r, sig.s, sig.h, sig.c, sig.o)
        }
    }
}

fn verdict(time: Option<f64>, best: Option<f64>) -> Verdict {
    match (time, best) {
        (Some(t), Some(b)) if t <= b => Verdict::Fastest,
        (Some(t), Some(b)) if t <= b * (1.0 + TIE) => Verdict::Tie,
        (Some(t), Some(b)) => Verdict::Slower(t / b - 1.0),
        _ => Verdict::Unmeasured,
    }
}

/// Times both lowerings of `sig` with `backend` forced, alternately (a lowering it has no
/// kernel for runs on the runtime's fallback, and says so).
fn time_backend(
    sig: &OpSignature,
    backend: &str,
    settings: &MeasureSettings,
) -> anyhow::Result<Vec<Timing>> {
    let mut runnables: Vec<Runnable> = Vec::new();
    let mut meta = Vec::new();
    for l in Lowering::ALL {
        let p = prepare(sig, backend, l, settings.threads)?;
        meta.push((l, p.kernel, p.ran_on, p.operands));
        runnables.push(p.runnable);
    }
    let samples = time_alternately(&mut runnables, settings, |_| {})
        .with_context(|| format!("timing {} on {backend}", sig.node))?;
    Ok(meta
        .into_iter()
        .zip(samples)
        .map(|((lowering, kernel, ran_on, operands), sample)| Timing {
            backend: backend.into(),
            lowering,
            kernel,
            ran_on,
            operands,
            sample,
        })
        .collect())
}

/// Each policy's pick for `sig` on `target`, judged against `pair`'s timings.
fn picks(
    sig: &OpSignature,
    target: &Target,
    policies: &[(String, Arc<dyn LoweringPolicy>)],
    pair: &Pair,
) -> anyhow::Result<Vec<Pick>> {
    let (graph, _) = single_op_model(sig, 7)?;
    let best = pair.best_ns();
    policies
        .iter()
        .map(|(label, p)| {
            let ex = legalize(&graph, target, p.as_ref())
                .with_context(|| format!("{label} on {}", target.name()))?
                .explanation;
            let op = ex.ops.first().context("the single-op model has no conv/dense")?;
            let time = pair.time(&op.backend, op.lowering).map(|t| t.sample.median_ns);
            Ok(Pick {
                policy: label.clone(),
                backend: op.backend.clone(),
                lowering: op.lowering,
                time_ns: time,
                verdict: verdict(time, best),
                reason: op.reason.clone(),
            })
        })
        .collect()
}

/// Measures one layer on `backends` of `host` and records every policy's picks.
pub fn run_layer(
    sig: &OpSignature,
    host: &Target,
    policies: &[(String, Arc<dyn LoweringPolicy>)],
    settings: &MeasureSettings,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<LayerResult> {
    let mut pairs = Vec::new();
    for d in host.backends() {
        progress(d.name);
        let times = time_backend(sig, d.name, settings)?;
        let fastest = times
            .iter()
            .min_by(|a, b| a.sample.median_ns.total_cmp(&b.sample.median_ns))
            .map(|t| (t.backend.clone(), t.lowering));
        pairs.push(Pair { scope: d.name.into(), times, fastest, picks: Vec::new() });
    }
    progress("policies");
    for pair in &mut pairs {
        let target = host.restrict_to(&pair.scope)?;
        pair.picks = picks(sig, &target, policies, pair)?;
    }
    let all: Vec<Timing> = pairs.iter().flat_map(|p| p.times.clone()).collect();
    let fastest = all
        .iter()
        .min_by(|a, b| a.sample.median_ns.total_cmp(&b.sample.median_ns))
        .map(|t| (t.backend.clone(), t.lowering));
    let mut host_pair = Pair { scope: "host".into(), times: all, fastest, picks: Vec::new() };
    host_pair.picks = picks(sig, host, policies, &host_pair)?;
    pairs.push(host_pair);
    Ok(LayerResult { name: sig.node.clone(), shape: shape(sig), macs: sig.macs, pairs })
}
