//! What a compilation is for: target, lowering policy, threads, forced backend and lowering.

use std::fmt;
use std::sync::Arc;

use qnn_ir::limits::Limits;
use qnn_legalize::policy::{Decision, DecisionContext};
use qnn_legalize::{CostModel, Forced, Lowering, LoweringPolicy, Target};

/// The environment variable that forces one backend for the whole model
/// (`QNN_BACKEND=x86-avx2` stands in for an old Intel machine on a VNNI one).
pub const BACKEND_ENV: &str = "QNN_BACKEND";

/// Options of a [`Compiler`](crate::Compiler).
///
/// `CompileOptions::default()` is: the host target, the [`CostModel`] policy, one thread per
/// available core, no forced lowering, and the backend named by `QNN_BACKEND` if that is set
/// (an explicit [`backend`](Self::backend) call overrides it).
#[derive(Clone)]
pub struct CompileOptions {
    /// The target to legalize for; `None`: [`Target::host`], resolved at compile time.
    pub target: Option<Target>,
    /// How each conv/dense lowering is chosen.
    pub policy: Arc<dyn LoweringPolicy>,
    /// Threads of the compiled model's pool (≥ 1).
    pub threads: usize,
    /// Run every op on this backend only (its kernels, falling back to the portable ones).
    pub backend: Option<String>,
    /// Force this lowering for every conv/dense (on top of the policy).
    pub lowering: Option<Lowering>,
    /// Memory limits: the graph's values are checked against them before legalization, every
    /// planned buffer against [`Limits::max_tensor_bytes`] and the activation arena of a run
    /// against [`Limits::max_graph_bytes`], before anything is allocated.
    pub limits: Limits,
}

impl fmt::Debug for CompileOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompileOptions")
            .field("target", &self.target.as_ref().map(|t| t.name().to_string()))
            .field("policy", &self.policy.name())
            .field("threads", &self.threads)
            .field("backend", &self.backend)
            .field("lowering", &self.lowering)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self::from_env_with(|k| std::env::var(k).ok())
    }
}

/// One thread per available core (1 when the count is unknown).
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl CompileOptions {
    /// The defaults without reading the environment.
    pub fn new() -> Self {
        CompileOptions {
            target: None,
            policy: Arc::new(CostModel::new()),
            threads: available_threads(),
            backend: None,
            lowering: None,
            limits: Limits::default(),
        }
    }

    /// The defaults, with `QNN_BACKEND` looked up through `lookup` (tests pass a map; the
    /// process environment is what [`Default`] uses). An empty value means unset.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let backend = lookup(BACKEND_ENV).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        CompileOptions { backend, ..Self::new() }
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    pub fn policy(mut self, policy: impl LoweringPolicy + 'static) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// Threads of the model's pool; 0 means one per available core.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = if threads == 0 { available_threads() } else { threads };
        self
    }

    /// Forces a backend (`Some`), or clears a forcing that came from `QNN_BACKEND` (`None`).
    pub fn backend(mut self, backend: Option<&str>) -> Self {
        self.backend = backend.map(str::to_string);
        self
    }

    pub fn lowering(mut self, lowering: Option<Lowering>) -> Self {
        self.lowering = lowering;
        self
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The policy the legalizer runs: the chosen one, wrapped in [`Forced`] when a lowering
    /// is forced.
    pub(crate) fn effective_policy(&self) -> Box<dyn LoweringPolicy> {
        let shared = SharedPolicy(self.policy.clone());
        match self.lowering {
            Some(l) => Box::new(Forced::new(shared).all(l)),
            None => Box::new(shared),
        }
    }
}

/// A policy behind an `Arc`, so options can be cloned and still hand the legalizer an owned
/// policy.
#[derive(Debug, Clone)]
struct SharedPolicy(Arc<dyn LoweringPolicy>);

impl LoweringPolicy for SharedPolicy {
    fn name(&self) -> String {
        self.0.name()
    }
    fn decide(&self, ctx: &DecisionContext<'_>) -> Result<Decision, String> {
        self.0.decide(ctx)
    }
}
