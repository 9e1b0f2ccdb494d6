//! The compiler, which runs the passes in order: legalize (`qnn-legalize`) → optimize (fold,
//! fuse, layout) → plan (kernels, units, buffers) → program.

use std::time::Instant;

use qnn_ir::Graph;
use qnn_ir::backend::registry;
use qnn_kernels::ThreadPool;
use qnn_legalize::{Explanation, Record, Target, legalize};

use crate::error::RuntimeError;
use crate::model::{CompilePhases, CompiledModel};
use crate::optimize::optimize;
use crate::options::CompileOptions;
use crate::plan::device::{DeviceMode, is_device_backend};
use crate::plan::plan;
use crate::plan::report::PlanReport;
use crate::program;

/// Compiles graphs for this machine with fixed [`CompileOptions`].
///
/// ```no_run
/// use qnn_runtime::{CompileOptions, Compiler};
///
/// fn infer(g: &qnn_ir::Graph, x: qnn_ir::Tensor) -> Result<Vec<qnn_ir::Tensor>, qnn_runtime::RuntimeError> {
///     let model = Compiler::new(CompileOptions::default().threads(2)).compile(g)?;
///     println!("{}", model.report()); // which kernel runs each op, and why
///     model.run(&[x])
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Compiler {
    options: CompileOptions,
}

impl Compiler {
    pub fn new(options: CompileOptions) -> Self {
        Compiler { options }
    }

    pub fn options(&self) -> &CompileOptions {
        &self.options
    }

    /// The target the options describe: the given one (or the host), restricted to the
    /// forced backend. An unknown backend name is an error listing the registered ones; a
    /// registered backend whose probe fails here cannot be forced for the host.
    pub fn target(&self) -> Result<Target, RuntimeError> {
        let base = self.options.target.clone().unwrap_or_else(Target::host);
        let Some(name) = &self.options.backend else { return Ok(base) };
        let registered = registry::backends();
        let Some(d) = registered.iter().find(|d| d.name == name) else {
            let names: Vec<&str> = registered.iter().map(|d| d.name).collect();
            return Err(RuntimeError::UnknownBackend {
                name: name.clone(),
                registered: if names.is_empty() { "none".into() } else { names.join(", ") },
            });
        };
        if base.is_host()
            && let Err(why) = d.probe()
        {
            return Err(RuntimeError::BackendUnavailable { name: name.clone(), why });
        }
        Ok(base.restrict_to(name)?)
    }

    /// Compiles a graph in the QNN dialect (or any mix of QNN and core ops).
    ///
    /// Fused conv/dense ops that a device backend of the target (`cuda-dp4a`) computes are
    /// prepared on the device here, once: weights uploaded and prepacked; everything else
    /// runs on the CPU. A target whose device backend cannot run on this machine (`cuda`
    /// without a GPU) is an error, [`RuntimeError::DeviceUnavailable`], rather than a quiet
    /// fallback to the CPU: [`plan`](Self::plan) shows such a target's plan.
    pub fn compile(&self, g: &Graph) -> Result<CompiledModel, RuntimeError> {
        g.verify_with(&self.options.limits)?;
        let target = self.target()?;
        require_devices(&target)?;
        self.compile_for(g, &target, DeviceMode::Prepare)
    }

    /// The plan [`compile`](Self::compile) would make, without preparing device ops: which
    /// op runs where and why, for any target, also one whose device this machine lacks
    /// (device steps are placed by their kernels' `applicable` checks, which touch no
    /// device, and marked as planned only).
    pub fn plan(&self, g: &Graph) -> Result<PlanReport, RuntimeError> {
        let target = self.target()?;
        Ok(self.compile_for(g, &target, DeviceMode::PlanOnly)?.report)
    }

    fn compile_for(
        &self,
        g: &Graph,
        target: &Target,
        mode: DeviceMode,
    ) -> Result<CompiledModel, RuntimeError> {
        let policy = self.options.effective_policy();
        let t = Instant::now();
        let l = legalize(g, target, policy.as_ref())?;
        let legalized = t.elapsed();
        let mut model =
            self.build(&l.graph, Some(&l.records), target, Some(l.explanation), mode)?;
        model.phases.legalize = legalized;
        Ok(model)
    }

    /// Compiles a graph that is already legalized (core ops only), e.g. one legalized for
    /// inspection first. Its conv/dense chains are recognized in the graph (there are no
    /// records of the legalizer's decisions) and take the kernels of the target's backends by
    /// priority.
    pub fn compile_lowered(&self, g: &Graph) -> Result<CompiledModel, RuntimeError> {
        if let Some(n) = g.nodes.iter().find(|n| n.op.is_qnn()) {
            return Err(RuntimeError::NotLowered { node: n.name.clone(), op: n.op.name().into() });
        }
        g.verify_with(&self.options.limits)?;
        let target = self.target()?;
        require_devices(&target)?;
        self.build(g, None, &target, None, DeviceMode::Prepare)
    }

    /// optimize → plan → program, for a lowered graph and the legalizer's `records` of it.
    fn build(
        &self,
        lowered: &Graph,
        records: Option<&[Record]>,
        target: &Target,
        explanation: Option<Explanation>,
        mode: DeviceMode,
    ) -> Result<CompiledModel, RuntimeError> {
        let mut backends: Vec<&str> = target.backends().iter().map(|d| d.name).collect();
        if !backends.contains(&crate::PORTABLE_BACKEND) {
            backends.push(crate::PORTABLE_BACKEND);
        }
        let mut phases = CompilePhases::default();
        let t = Instant::now();
        let dataflow = optimize(lowered, records)?;
        phases.optimize = t.elapsed();
        let t = Instant::now();
        let planned = plan(dataflow, &backends, mode, &self.options.limits)?;
        phases.plan = t.elapsed();
        let t = Instant::now();
        let (program, steps) = program::build(planned)?;
        phases.program = t.elapsed();
        let report = PlanReport {
            model: lowered.name.clone(),
            target: target.name().to_string(),
            policy: explanation.as_ref().map_or_else(
                || "none (compiled from a lowered graph)".into(),
                |e| e.policy.clone(),
            ),
            forced_backend: self.options.backend.clone(),
            backends: backends.iter().map(|s| s.to_string()).collect(),
            threads: self.options.threads.max(1),
            steps,
            arena_bytes: program.arena_bytes,
            constant_bytes: program.consts.iter().map(Vec::len).sum(),
            packed_weight_bytes: program.packed_weight_bytes(),
            legalization: explanation,
        };
        let pool =
            ThreadPool::try_new(self.options.threads.max(1)).map_err(RuntimeError::Threads)?;
        Ok(CompiledModel { name: lowered.name.clone(), program, pool, report, phases })
    }
}

/// Every device backend of `target` must be usable here (the host target holds only usable
/// ones; a named target such as `cuda` may not).
fn require_devices(target: &Target) -> Result<(), RuntimeError> {
    for d in target.backends() {
        if is_device_backend(d.name)
            && let Err(why) = d.probe()
        {
            return Err(RuntimeError::DeviceUnavailable {
                target: target.name().to_string(),
                backend: d.name.to_string(),
                why,
            });
        }
    }
    Ok(())
}
