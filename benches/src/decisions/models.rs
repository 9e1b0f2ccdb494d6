//! The whole models: compiled for the host under each policy, and with each backend and
//! lowering forced for every conv/dense, all timed alternately.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use qnn_legalize::{Capability, Lowering, LoweringPolicy, Target};
use qnn_runtime::{CompileOptions, Compiler, Exec};
use qnn_tune::timing::{MeasureSettings, Runnable, Sample, time_alternately};
use serde::{Deserialize, Serialize};

use crate::models::WholeModel;

/// One compilation of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVariant {
    /// A policy's name, or `BACKEND LOWERING` when both are forced.
    pub label: String,
    pub forced: bool,
    /// Conv/dense steps per backend that ran them (`x86-vnni ×35`).
    pub kernels: String,
    /// Conv/dense ops per lowering the legalizer chose.
    pub lowerings: String,
    #[serde(flatten)]
    pub sample: Sample,
}

/// One model's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    pub name: String,
    pub macs: u64,
    pub convs: usize,
    pub variants: Vec<ModelVariant>,
}

fn counts<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut m: BTreeMap<&str, usize> = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    m.iter().map(|(k, n)| format!("{k} ×{n}")).collect::<Vec<_>>().join(", ")
}

/// Compiles `m` with `opts`; `None` when a forced backend left some conv to another backend
/// (it has no kernel for it: the variant would not measure that backend).
fn compile(
    m: &WholeModel,
    label: String,
    opts: CompileOptions,
    forced: Option<&str>,
) -> anyhow::Result<Option<(ModelVariant, Runnable)>> {
    let model =
        Compiler::new(opts).compile(&m.graph).with_context(|| format!("{}: {label}", m.name))?;
    let report = model.report();
    let convs: Vec<&str> = report
        .steps
        .iter()
        .filter(|s| s.lowering.is_some())
        .map(|s| s.backend.as_deref().unwrap_or(Exec::Reference.as_str()))
        .collect();
    if let Some(b) = forced
        && convs.iter().any(|c| *c != b)
    {
        return Ok(None);
    }
    let lowerings = report
        .legalization
        .as_ref()
        .map(|e| counts(e.ops.iter().map(|o| o.lowering.as_str())))
        .unwrap_or_default();
    let v = ModelVariant {
        label,
        forced: forced.is_some(),
        kernels: counts(convs.into_iter()),
        lowerings,
        sample: Sample { median_ns: 0.0, min_ns: 0.0, spread: 0.0, runs: 0, preempted: 0 },
    };
    Ok(Some((v, Runnable::new(model, m.input.clone()))))
}

/// Times `m` under every policy and every (backend, lowering) with kernels for all its ops.
pub fn run_model(
    m: &WholeModel,
    host: &Target,
    policies: &[(String, Arc<dyn LoweringPolicy>)],
    settings: &MeasureSettings,
    with_forced: bool,
) -> anyhow::Result<ModelResult> {
    let mut variants = Vec::new();
    let mut runnables = Vec::new();
    for (label, p) in policies {
        let mut opts = CompileOptions::new().threads(settings.threads).target(host.clone());
        opts.policy = p.clone();
        if let Some((v, r)) = compile(m, label.clone(), opts, None)? {
            variants.push(v);
            runnables.push(r);
        }
    }
    if with_forced {
        for d in host.backends() {
            for l in Lowering::ALL {
                let opts = CompileOptions::new()
                    .threads(settings.threads)
                    .target(host.clone())
                    .policy(Capability)
                    .backend(Some(d.name))
                    .lowering(Some(l));
                let label = format!("{} {l}", d.name);
                if let Some((v, r)) = compile(m, label, opts, Some(d.name))? {
                    variants.push(v);
                    runnables.push(r);
                }
            }
        }
    }
    let samples = time_alternately(&mut runnables, settings, |_| {})
        .with_context(|| format!("timing {}", m.name))?;
    for (v, s) in variants.iter_mut().zip(samples) {
        v.sample = s;
    }
    Ok(ModelResult { name: m.name.into(), macs: m.macs, convs: m.convs, variants })
}
