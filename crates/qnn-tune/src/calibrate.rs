//! Calibration: time each usable backend's kernel classes on a few shapes that are not the
//! benchmark suite's, and fit the cost model's per-class rates to the timings.
//!
//! Every candidate of every calibration shape is timed on its backend, both lowerings. A
//! class the backend has no kernel for (x86-vnni's int16) is timed where the runtime runs it
//! instead (the portable kernels): that is what choosing the candidate costs, and so what
//! the cost model should predict for it. For a class `k` of backend `b`, over its
//! calibration shapes `s` (timed in ns, `t_s`):
//!
//! ```text
//! clock  = median over (b, k) run on b's own kernels of
//!            (Σ MACs / Σ t) / descriptor rate(b, k)                                 [GHz]
//! rate   = Σ MACs_s / Σ max(t_s · clock − other_s, t_s · clock / 4)                  [MACs/cycle]
//! ```
//!
//! where `other_s` is what the cost model adds to the main term for that candidate (T3 and
//! pre-pass, memory), in cycles. Rates stay in the descriptors' unit, so calibrated and
//! uncalibrated backends compare; `clock` is the clock at which the descriptors' figures
//! would hold on this machine, not a measured frequency.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use qnn_ir::backend::registry;
use qnn_legalize::policy::{CalibratedFigures, Calibration, Candidate, Decision, DecisionContext};
use qnn_legalize::{
    Capability, CostModel, Lowering, LoweringPolicy, OpKind, OpSignature, Target, legalize,
};
use serde::{Deserialize, Serialize};

use crate::error::TuneError;
use crate::machine::MachineKey;
use crate::measure::measure_backend;
use crate::single_op::single_op_model;
use crate::timing::MeasureSettings;

/// One timed (backend, class, shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationPoint {
    pub backend: String,
    pub class: String,
    pub shape: String,
    pub lowering: Lowering,
    pub kernel: String,
    /// The backend whose kernel ran it: another one (`portable`) when `backend` has no kernel
    /// for the class and operands, which is what choosing it costs.
    pub ran_on: String,
    pub macs: u64,
    pub median_ns: f64,
    /// What the cost model adds besides the main term (cycles).
    pub other_cycles: f64,
}

/// A calibration and the timings it was fitted to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationRun {
    pub machine: MachineKey,
    pub calibration: Calibration,
    pub points: Vec<CalibrationPoint>,
}

fn conv(
    name: &str,
    hw: usize,
    c: usize,
    o: usize,
    k: usize,
    stride: usize,
    groups: usize,
) -> OpSignature {
    let pad = k / 2;
    let out = (hw + 2 * pad - k) / stride + 1;
    let kind = if groups > 1 { OpKind::DepthwiseConv2d } else { OpKind::Conv2d };
    let kk = c / groups * k * k;
    OpSignature {
        node: name.into(),
        kind,
        n: 1,
        h: hw,
        w: hw,
        c,
        o,
        r: k,
        s: k,
        oh: out,
        ow: out,
        strides: [stride; 2],
        padding: [pad; 4],
        dilation: [1, 1],
        groups,
        data_layout: Some("NHWC".into()),
        kernel_layout: Some("OHWI".into()),
        data_dtype: "u8".into(),
        weight_dtype: "i8".into(),
        input_zero_point: 128,
        weight_zero_points: vec![0],
        weight_zero_point_nonzero: false,
        has_bias: true,
        k: kk,
        macs: (out * out * o * kk) as u64,
    }
}

/// The calibration shapes: a 3×3 conv, a pointwise conv, a 3-channel first layer, a dense
/// layer and two depthwise convs — the op forms of common networks, at sizes that time in
/// milliseconds even on scalar kernels, and none of them a layer of the benchmark suite.
pub fn calibration_shapes() -> Vec<OpSignature> {
    let mut dense = conv("dense 1024→1000", 1, 1024, 1000, 1, 1, 1);
    dense.kind = OpKind::Dense;
    dense.data_layout = None;
    dense.kernel_layout = None;
    vec![
        conv("conv 3×3 28²×64→64", 28, 64, 64, 3, 1, 1),
        conv("conv 1×1 28²×128→128", 28, 128, 128, 1, 1, 1),
        conv("first layer 3×3 s2 112²×3→32", 112, 3, 32, 3, 2, 1),
        dense,
        conv("depthwise 3×3 56²×64", 56, 64, 64, 3, 1, 64),
        conv("depthwise 3×3 s2 56²×96", 56, 96, 96, 3, 2, 96),
    ]
}

/// Records the candidates the legalizer offers, and lets [`Capability`] decide.
#[derive(Debug, Default)]
struct Recorder(Arc<Mutex<Vec<Candidate>>>);

impl LoweringPolicy for Recorder {
    fn name(&self) -> String {
        "recorder".into()
    }
    fn decide(&self, ctx: &DecisionContext<'_>) -> Result<Decision, String> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = ctx.candidates.to_vec();
        Capability.decide(ctx)
    }
}

/// The candidates of `sig` on `target` (one backend).
fn candidates(sig: &OpSignature, target: &Target) -> Result<Vec<Candidate>, TuneError> {
    let (graph, _) = single_op_model(sig, 1)?;
    let rec = Recorder::default();
    let seen = rec.0.clone();
    legalize(&graph, target, &rec).map_err(|e| TuneError::Unsupported {
        node: sig.node.clone(),
        what: format!("legalize: {e}"),
    })?;
    let c = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(c)
}

/// The cost model's cycles for `c` besides its main term.
fn other_cycles(sig: &OpSignature, c: &Candidate) -> f64 {
    // With the class rate at 1 MAC/cycle the main term is exactly `macs`.
    let mut unit = Calibration::new("unit", 1.0);
    let mut f = CalibratedFigures::default();
    f.macs_per_cycle.insert(c.class.as_str().into(), 1.0);
    unit.backends.insert(c.backend.name.into(), f);
    let est = CostModel::new().calibrated(unit).estimate(sig, c).unwrap_or(sig.macs as f64);
    (est - sig.macs as f64).max(0.0)
}

/// `x` to 4 significant digits: a readable file whose numbers parse back exactly.
fn round4(x: f64) -> f64 {
    format!("{x:.3e}").parse().unwrap_or(x)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// Calibrates every backend usable here. `progress` gets a line per backend and shape.
pub fn calibrate(
    settings: &MeasureSettings,
    mut progress: impl FnMut(&str),
) -> Result<CalibrationRun, TuneError> {
    let machine = MachineKey::host();
    let host = Target::host();
    let mut points = Vec::new();
    for d in host.backends() {
        let target = host
            .restrict_to(d.name)
            .map_err(|e| TuneError::Unsupported { node: d.name.into(), what: e.to_string() })?;
        for sig in calibration_shapes() {
            let cs: Vec<Candidate> = candidates(&sig, &target)?;
            if cs.is_empty() {
                continue;
            }
            progress(&format!("calibrating {}: {}", d.name, sig.node));
            let lowerings: Vec<Lowering> = cs.iter().map(|c| c.lowering).collect();
            for m in measure_backend(&sig, d.name, &lowerings, settings)? {
                let Some(c) = cs.iter().find(|c| c.lowering == m.lowering) else { continue };
                let p = CalibrationPoint {
                    backend: d.name.into(),
                    class: c.class.as_str().into(),
                    shape: sig.node.clone(),
                    lowering: m.lowering,
                    kernel: m.kernel.clone(),
                    ran_on: m.ran_on.clone(),
                    macs: sig.macs,
                    median_ns: m.sample.median_ns,
                    other_cycles: other_cycles(&sig, c),
                };
                points.push(p);
            }
        }
    }
    let mut groups: BTreeMap<(String, String), Vec<&CalibrationPoint>> = BTreeMap::new();
    for p in &points {
        groups.entry((p.backend.clone(), p.class.clone())).or_default().push(p);
    }
    let descriptor_rate = |backend: &str, class: &str| {
        let d = registry::backend(backend)?;
        d.capabilities
            .costs
            .iter()
            .find(|c| c.class.as_str() == class)
            .map(|c| f64::from(c.macs_per_cycle))
    };
    let ratios: Vec<f64> = groups
        .iter()
        .filter(|(_, ps)| ps.iter().all(|p| p.ran_on == p.backend))
        .filter_map(|((b, k), ps)| {
            let raw = ps.iter().map(|p| p.macs as f64).sum::<f64>()
                / ps.iter().map(|p| p.median_ns).sum::<f64>();
            descriptor_rate(b, k).filter(|r| *r > 0.0).map(|r| raw / r)
        })
        .collect();
    let clock = round4(median(ratios).unwrap_or(1.0));
    let mut cal = Calibration::new(machine.to_string(), clock);
    for ((b, k), ps) in &groups {
        let macs: f64 = ps.iter().map(|p| p.macs as f64).sum();
        let cycles: f64 = ps
            .iter()
            .map(|p| {
                let t = p.median_ns * clock;
                (t - p.other_cycles).max(t / 4.0)
            })
            .sum();
        cal.backends
            .entry(b.clone())
            .or_default()
            .macs_per_cycle
            .insert(k.clone(), round4(macs / cycles));
    }
    Ok(CalibrationRun { machine, calibration: cal, points })
}
