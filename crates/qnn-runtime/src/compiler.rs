//! The compiler: legalize → fold constants → fuse and choose kernels → NHWC layout → plan.

use std::collections::HashMap;

use qnn_ir::backend::registry;
use qnn_ir::{Graph, Op};
use qnn_kernels::ThreadPool;
use qnn_legalize::{Explanation, Target, legalize, match_all};

use crate::error::RuntimeError;
use crate::model::CompiledModel;
use crate::optimize::{fold::fold_constants, fuse::conv_spec, layout::to_nhwc};
use crate::options::CompileOptions;
use crate::plan::device::{DeviceMode, is_device_backend};
use crate::plan::kernels::choose_kernel;
use crate::plan::plan;
use crate::plan::report::PlanReport;
use crate::program::{ConvStep, Program};

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
        let l = legalize(g, target, policy.as_ref())?;
        let hints = backend_hints(g, &l.explanation);
        self.build(&l.graph, target, Some(l.explanation), &hints, mode)
    }

    /// Compiles a graph that is already legalized (core ops only), e.g. one legalized for
    /// inspection first. Fused convs take the kernels of the target's backends by priority.
    pub fn compile_lowered(&self, g: &Graph) -> Result<CompiledModel, RuntimeError> {
        if let Some(n) = g.nodes.iter().find(|n| n.op.is_qnn()) {
            return Err(RuntimeError::NotLowered { node: n.name.clone(), op: n.op.name().into() });
        }
        g.verify_with(&self.options.limits)?;
        let target = self.target()?;
        require_devices(&target)?;
        self.build(g, &target, None, &HashMap::new(), DeviceMode::Prepare)
    }

    fn build(
        &self,
        lowered: &Graph,
        target: &Target,
        explanation: Option<Explanation>,
        hints: &HashMap<String, String>,
        mode: DeviceMode,
    ) -> Result<CompiledModel, RuntimeError> {
        let g = fold_constants(lowered)?;
        let mut order: Vec<&str> = target.backends().iter().map(|d| d.name).collect();
        if !order.contains(&crate::PORTABLE_BACKEND) {
            order.push(crate::PORTABLE_BACKEND);
        }
        let mut convs = Vec::new();
        let mut notes = HashMap::new();
        for f in match_all(&g) {
            let conv_name = &g.nodes[f.conv_node].name;
            let spec = match conv_spec(&g, &f) {
                Ok(s) => s,
                Err(why) => {
                    notes.insert(f.conv_node, format!("not fused: {why}"));
                    continue;
                }
            };
            let mut pref: Vec<&str> = Vec::with_capacity(order.len() + 1);
            if let Some(h) = hints.get(conv_name)
                && order.contains(&h.as_str())
            {
                pref.push(h);
            }
            for &b in &order {
                if !pref.contains(&b) {
                    pref.push(b);
                }
            }
            match choose_kernel(&spec, &pref, mode) {
                Ok(chosen) => convs.push(ConvStep { spec, chosen }),
                Err(why) => {
                    notes.insert(f.conv_node, format!("no kernel, runs unfused: {why}"));
                }
            }
        }
        let program = to_nhwc(Program::build(&g, convs, &notes)?)?;
        let planned = plan(program, &self.options.limits)?;
        let report = PlanReport {
            model: g.name.clone(),
            target: target.name().to_string(),
            policy: explanation.as_ref().map_or_else(
                || "none (compiled from a lowered graph)".into(),
                |e| e.policy.clone(),
            ),
            forced_backend: self.options.backend.clone(),
            backends: order.iter().map(|s| s.to_string()).collect(),
            threads: self.options.threads.max(1),
            steps: planned.reports,
            arena_bytes: planned.arena_bytes,
            constant_bytes: planned.consts.iter().map(Vec::len).sum(),
            legalization: explanation,
        };
        Ok(CompiledModel {
            name: g.name.clone(),
            steps: planned.steps,
            consts: planned.consts,
            inputs: planned.inputs,
            outputs: planned.outputs,
            arena_bytes: planned.arena_bytes,
            pool: ThreadPool::new(self.options.threads.max(1)),
            report,
        })
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

/// Lowered conv node name → the backend the legalizer chose for it. The lowering names its
/// conv `NODE.t1` / `NODE.acc`, or gives it the QNN op's output name (or its folded bias
/// add's) when the conv is the lowering's last node.
fn backend_hints(g: &Graph, e: &Explanation) -> HashMap<String, String> {
    let users = g.users();
    let mut out = HashMap::new();
    for r in &e.ops {
        out.insert(format!("{}.t1", r.node), r.backend.clone());
        out.insert(format!("{}.acc", r.node), r.backend.clone());
        if let Some(n) = g.nodes.iter().find(|n| n.name == r.node) {
            out.insert(g.value(n.output).name.clone(), r.backend.clone());
            for &u in &users[n.output.index()] {
                if g.nodes[u].op == Op::Add {
                    out.insert(g.value(g.nodes[u].output).name.clone(), r.backend.clone());
                }
            }
        }
    }
    out
}
