//! Targets: the set of backend descriptors a graph is legalized for.
//!
//! * [`Target::host`]: the registered descriptors whose run-time probe succeeds here.
//! * [`Target::named`] / [`str::parse`]: a machine the user is not on, as
//!   `TRIPLE[:CPU]` or `TRIPLE:+FEATURE[,+FEATURE…]` (`aarch64-unknown-linux-gnu:cortex-a53`,
//!   `aarch64-unknown-linux-gnu:+dotprod`, `x86_64-unknown-linux-gnu:avx2`,
//!   `x86_64-unknown-linux-gnu:cascadelake`, `cuda`). Its CPU features come from the table in
//!   [`cpus`] and the [`TargetDescriptor`](qnn_ir::backend::TargetDescriptor)s backend
//!   crates register; its backends are the registered descriptors of that architecture (or
//!   [`Arch::Portable`], for a CPU) whose required features the CPU has. Probes are not
//!   run: the target describes another machine.
//! * [`Target::restrict_to`]: one backend only (what `QNN_BACKEND=x86-avx2` means).

pub mod cpus;

use std::fmt;
use std::str::FromStr;

use qnn_ir::backend::{Arch, BackendDescriptor, registry};

use crate::error::LegalizeError;

/// What a graph is legalized for: a name, an architecture, CPU features and the backends
/// that can run there, highest priority first.
#[derive(Debug, Clone)]
pub struct Target {
    name: String,
    arch: Arch,
    cpu: Option<String>,
    features: Vec<String>,
    backends: Vec<&'static BackendDescriptor>,
    host: bool,
}

const KNOWN_TARGETS: &str = "host, x86_64-unknown-linux-gnu[:CPU | :+FEATURE,…], \
aarch64-unknown-linux-gnu[:CPU | :+FEATURE,…], cuda[:sm_XX]";

/// The built-in targets, then those of registered target descriptors.
fn known_targets() -> String {
    let mut s = String::from(KNOWN_TARGETS);
    for (_, triple) in cpus::registered_triples() {
        s.push_str(&format!(", {triple}[:CPU | :+FEATURE,…]"));
    }
    s
}

impl Target {
    /// The target of this machine: every registered backend whose probe succeeds.
    pub fn host() -> Target {
        let backends = registry::backends().into_iter().filter(|d| d.probe().is_ok()).collect();
        Target::with_backends("host", Arch::host(), backends).mark_host()
    }

    fn mark_host(mut self) -> Target {
        self.host = true;
        self.features = host_features();
        self
    }

    /// A target for a machine described by a triple and a CPU name or feature list
    /// (empty: the architecture's baseline CPU).
    pub fn named(triple: &str, cpu_or_features: &str) -> Result<Target, LegalizeError> {
        let unknown = || LegalizeError::UnknownTarget {
            name: if cpu_or_features.is_empty() {
                triple.to_string()
            } else {
                format!("{triple}:{cpu_or_features}")
            },
            known: known_targets(),
        };
        let arch = cpus::arch_of_triple(triple).ok_or_else(unknown)?;
        let spec = cpu_or_features.trim();
        let (cpu, features) = if spec.is_empty() {
            let base = cpus::baseline(arch).ok_or_else(unknown)?;
            (Some(base.name.to_string()), base.features.iter().map(|s| s.to_string()).collect())
        } else if let Some(c) = cpus::cpu(arch, spec) {
            (Some(c.name.to_string()), c.features.iter().map(|s| s.to_string()).collect())
        } else {
            let mut feats: Vec<String> = cpus::baseline(arch)
                .map(|b| b.features.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default();
            for f in spec.split([',', ' ']).filter(|f| !f.is_empty()) {
                let bare = f.trim_start_matches('+');
                let implied =
                    cpus::feature(arch, bare).ok_or_else(|| LegalizeError::UnknownCpu {
                        arch: arch.to_string(),
                        given: f.to_string(),
                        cpus: cpus::cpu_names(arch),
                        features: cpus::feature_names(arch),
                    })?;
                feats.extend(implied.iter().map(|s| s.to_string()));
            }
            (None, feats)
        };
        let given: Vec<&str> = features.iter().map(String::as_str).collect();
        let features = cpus::expand(arch, &given);
        let fs: Vec<&str> = features.iter().map(String::as_str).collect();
        let backends = registry::backends()
            .into_iter()
            .filter(|d| {
                (d.arch == arch || (d.arch == Arch::Portable && !cpus::is_device(arch)))
                    && d.runs_on(&fs)
            })
            .collect();
        let name = match (&cpu, spec.is_empty()) {
            (_, true) => triple.to_string(),
            _ => format!("{triple}:{spec}"),
        };
        let mut t = Target::with_backends(name, arch, backends);
        t.cpu = cpu;
        t.features = features;
        Ok(t)
    }

    /// A target with exactly these backends (custom or test targets).
    pub fn with_backends(
        name: impl Into<String>,
        arch: Arch,
        mut backends: Vec<&'static BackendDescriptor>,
    ) -> Target {
        backends.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(b.name)));
        backends.dedup_by(|a, b| a.name == b.name);
        Target { name: name.into(), arch, cpu: None, features: Vec::new(), backends, host: false }
    }

    /// The same target with only the backend `name` (`QNN_BACKEND` semantics).
    pub fn restrict_to(&self, name: &str) -> Result<Target, LegalizeError> {
        let Some(d) = self.backends.iter().find(|d| d.name == name) else {
            return Err(LegalizeError::UnknownBackend {
                name: name.into(),
                target: self.name.clone(),
                available: self.backend_names(),
            });
        };
        let mut t = self.clone();
        t.backends = vec![*d];
        t.name = format!("{} (backend {name})", self.name);
        Ok(t)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn arch(&self) -> Arch {
        self.arch
    }
    /// The CPU model of a named target, if one was given.
    pub fn cpu(&self) -> Option<&str> {
        self.cpu.as_deref()
    }
    /// CPU features (named targets: from the table; host: detected at run time).
    pub fn features(&self) -> &[String] {
        &self.features
    }
    /// The backends, highest priority first.
    pub fn backends(&self) -> &[&'static BackendDescriptor] {
        &self.backends
    }
    pub fn is_host(&self) -> bool {
        self.host
    }
    /// Backend names, comma separated (`none` when empty).
    pub fn backend_names(&self) -> String {
        if self.backends.is_empty() {
            return "none".into();
        }
        self.backends.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.name, self.backend_names())
    }
}

impl FromStr for Target {
    type Err = LegalizeError;
    /// `host`, `TRIPLE`, `TRIPLE:CPU`, `TRIPLE:+FEATURE,…`, `cuda`, `cuda:sm_XX`.
    fn from_str(s: &str) -> Result<Target, LegalizeError> {
        let s = s.trim();
        if s == "host" {
            return Ok(Target::host());
        }
        match s.split_once(':') {
            Some((triple, spec)) => Target::named(triple, spec),
            None => Target::named(s, ""),
        }
    }
}

/// CPU features of this machine among those the table knows, detected at run time.
fn host_features() -> Vec<String> {
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        let checks: [(&str, bool); 10] = [
            ("sse2", std::arch::is_x86_feature_detected!("sse2")),
            ("avx", std::arch::is_x86_feature_detected!("avx")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
            ("avx512bw", std::arch::is_x86_feature_detected!("avx512bw")),
            ("avx512vl", std::arch::is_x86_feature_detected!("avx512vl")),
            ("avx512vnni", std::arch::is_x86_feature_detected!("avx512vnni")),
            ("avxvnni", std::arch::is_x86_feature_detected!("avxvnni")),
            ("sse2", true),
        ];
        out.extend(checks.iter().filter(|c| c.1).map(|c| c.0.to_string()));
    }
    #[cfg(target_arch = "aarch64")]
    {
        let checks: [(&str, bool); 3] = [
            ("neon", std::arch::is_aarch64_feature_detected!("neon")),
            ("dotprod", std::arch::is_aarch64_feature_detected!("dotprod")),
            ("i8mm", std::arch::is_aarch64_feature_detected!("i8mm")),
        ];
        out.extend(checks.iter().filter(|c| c.1).map(|c| c.0.to_string()));
    }
    out.extend(cpus::registered_host_features(Arch::host()).iter().map(|f| f.to_string()));
    out.sort();
    out.dedup();
    out
}
