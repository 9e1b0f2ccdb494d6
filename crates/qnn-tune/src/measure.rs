//! Timing one signature on one backend: each lowering's single-op model compiled with the
//! backend forced (its best kernel: the runtime plans the cheapest applicable one) and the
//! lowering forced, then timed alternately.

use qnn_legalize::{Capability, Lowering, OpSignature};
use qnn_runtime::{CompileOptions, Compiler, Exec};

use crate::cache::MeasuredLowering;
use crate::error::TuneError;
use crate::single_op::single_op_model;
use crate::timing::{MeasureSettings, Runnable, time_alternately};

/// One lowering of a signature compiled on one backend.
#[derive(Debug)]
pub struct Prepared {
    pub lowering: Lowering,
    pub runnable: Runnable,
    /// Operand dtypes at the core conv (`u8×i8`).
    pub operands: String,
    /// The kernel that runs the op (`reference` when none could).
    pub kernel: String,
    /// The backend of that kernel.
    pub ran_on: String,
}

/// Seed of the single-op models: the same data and weights for every lowering and backend.
const SEED: u64 = 0x51_6E_6E;

/// Compiles the single-op model of `sig` on `backend` under `lowering`.
pub fn prepare(
    sig: &OpSignature,
    backend: &str,
    lowering: Lowering,
    threads: usize,
) -> Result<Prepared, TuneError> {
    let (graph, input) = single_op_model(sig, SEED)?;
    let opts = CompileOptions::new()
        .policy(Capability)
        .threads(threads)
        .backend(Some(backend))
        .lowering(Some(lowering));
    let model = Compiler::new(opts).compile(&graph).map_err(|source| TuneError::Runtime {
        node: sig.node.clone(),
        backend: backend.into(),
        lowering: lowering.to_string(),
        source: Box::new(source),
    })?;
    let report = model.report();
    let conv = report.steps.iter().find(|s| s.exec == Exec::Kernel);
    let kernel = conv.and_then(|s| s.kernel.clone()).unwrap_or_else(|| "reference".into());
    let ran_on = conv.and_then(|s| s.backend.clone()).unwrap_or_else(|| "reference".into());
    let operands = report
        .legalization
        .as_ref()
        .and_then(|e| e.ops.first())
        .map_or_else(|| "?".into(), |o| format!("{}×{}", o.operands[0], o.operands[1]));
    Ok(Prepared { lowering, runnable: Runnable::new(model, input), operands, kernel, ran_on })
}

/// Times `lowerings` of `sig` on `backend`, alternately.
pub fn measure_backend(
    sig: &OpSignature,
    backend: &str,
    lowerings: &[Lowering],
    settings: &MeasureSettings,
) -> Result<Vec<MeasuredLowering>, TuneError> {
    let mut prepared = lowerings
        .iter()
        .map(|&l| prepare(sig, backend, l, settings.threads))
        .collect::<Result<Vec<_>, _>>()?;
    let mut runnables: Vec<Runnable> = Vec::with_capacity(prepared.len());
    let mut meta = Vec::with_capacity(prepared.len());
    for p in prepared.drain(..) {
        meta.push((p.lowering, p.operands, p.kernel, p.ran_on));
        runnables.push(p.runnable);
    }
    let samples = time_alternately(&mut runnables, settings, |_| {}).map_err(|source| {
        TuneError::Runtime {
            node: sig.node.clone(),
            backend: backend.into(),
            lowering: "timing".into(),
            source: Box::new(source),
        }
    })?;
    Ok(meta
        .into_iter()
        .zip(samples)
        .map(|((lowering, operands, kernel, ran_on), sample)| MeasuredLowering {
            lowering,
            operands,
            kernel,
            ran_on,
            sample,
        })
        .collect())
}
