//! What runs a model for `qnn run`: the compiled model, or — when the legalizer cannot lower
//! one of its ops, or when asked — qnn-ir's reference interpreter, which computes the same
//! bits slowly.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use qnn_ir::{Graph, Tensor};
use qnn_legalize::LegalizeError;
use qnn_runtime::{CompileOptions, CompiledModel, Compiler, RuntimeError, Workspace};

/// The model, ready to run.
#[derive(Debug)]
pub enum Engine {
    Compiled(Box<CompiledModel>),
    /// The reference interpreter, and why it runs the model.
    Reference {
        graph: Graph,
        why: String,
    },
}

/// Whether a compile error means "qnn cannot lower this op yet" (an unsupported form, such
/// as uint16 Q/DQ: the reference interpreter still computes it exactly), rather than a bad
/// model, option or machine.
fn unsupported(e: &RuntimeError) -> bool {
    matches!(e, RuntimeError::Legalize(LegalizeError::Unsupported { .. }))
}

impl Engine {
    /// Compiles `g`; an op the legalizer does not support falls back to the reference
    /// interpreter (the reason is kept and printed). `reference` skips compiling.
    pub fn new(g: &Graph, opts: CompileOptions, reference: bool, model: &str) -> Result<Engine> {
        if reference {
            return Ok(Engine::Reference { graph: g.clone(), why: "--reference".into() });
        }
        let hint = if opts.backend.is_some() { " (`qnn targets` lists the backends)" } else { "" };
        match Compiler::new(opts).compile(g) {
            Ok(m) => Ok(Engine::Compiled(Box::new(m))),
            Err(e) if unsupported(&e) => Ok(Engine::Reference {
                graph: g.clone(),
                why: format!("the runtime cannot compile it: {e}"),
            }),
            Err(e) => Err(anyhow::Error::new(e).context(format!("cannot compile {model}{hint}"))),
        }
    }

    pub fn compiled(&self) -> Option<&CompiledModel> {
        match self {
            Engine::Compiled(m) => Some(m),
            Engine::Reference { .. } => None,
        }
    }

    /// One run.
    pub fn run(&self, ws: &mut Workspace, feeds: &[Tensor]) -> Result<Vec<Tensor>> {
        Ok(match self {
            Engine::Compiled(m) => m.run_with(ws, feeds)?,
            Engine::Reference { graph, .. } => qnn_ir::reference::run(graph, feeds)?,
        })
    }
}

/// Wall times of timed runs and, when profiled, of each step.
#[derive(Debug)]
pub struct Timing {
    /// Wall time of each timed run.
    pub runs: Vec<Duration>,
    /// Whether the runs followed a warm-up run.
    pub warm: bool,
    /// Per step, the time of each profiled run (compiled models only).
    pub steps: Vec<Vec<Duration>>,
}

/// `repeat` timed runs after the first (warm-up) one, checked to give the first run's bits.
pub fn time_runs(
    e: &Engine,
    ws: &mut Workspace,
    feeds: &[Tensor],
    first: &[Tensor],
    repeat: usize,
    profile: bool,
) -> Result<Timing> {
    // The vectors grow with the runs actually made: a large `repeat` allocates nothing ahead.
    let mut timing = Timing { runs: Vec::new(), warm: true, steps: Vec::new() };
    let mut last = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        match (e.compiled(), profile) {
            (Some(m), true) => {
                let (out, steps) = m.run_profiled(ws, feeds)?;
                timing.runs.push(t.elapsed());
                timing.steps.resize(steps.len(), Vec::new());
                for (s, d) in timing.steps.iter_mut().zip(steps) {
                    s.push(d);
                }
                last = out;
            }
            _ => {
                last = e.run(ws, feeds)?;
                timing.runs.push(t.elapsed());
            }
        }
    }
    // Running is deterministic: a repeat that differs from the first run is a bug.
    let bytes = |ts: &[Tensor]| ts.iter().map(qnn_npy::to_bytes).collect::<Vec<_>>();
    if bytes(&last) != bytes(first) {
        bail!(
            "the outputs of a repeated run differ from the first run's (a bug: please report it)"
        );
    }
    Ok(timing)
}

/// Runs once, timed.
pub fn first_run(
    e: &Engine,
    ws: &mut Workspace,
    feeds: &[Tensor],
    model: &str,
) -> Result<(Vec<Tensor>, Duration)> {
    let t = Instant::now();
    let out = e.run(ws, feeds).with_context(|| format!("running {model}"))?;
    Ok((out, t.elapsed()))
}
