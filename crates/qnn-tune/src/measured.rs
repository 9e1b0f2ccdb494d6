//! The `Measured` lowering policy: time, don't guess.
//!
//! For each conv/dense it sees, for each backend among the candidates, it times every
//! candidate lowering of the op's signature on this machine (single-op models, both
//! lowerings alternately, medians; see [`crate::measure`]), keeps the times in a
//! [`DecisionCache`] keyed by (machine, backend, threads, signature), and picks the candidate
//! with the lowest median. What it cannot measure — a named target (another machine), a
//! signature missing from the cache when measuring is off, a measurement that failed — the
//! [`CostModel`] decides, and the reason says why. Every decision's estimates carry the cost
//! model's cycles next to the measured time ([`Estimate::measured_ns`]).
//!
//! ```
//! use qnn_runtime::{CompileOptions, CompiledModel, Compiler};
//! use qnn_tune::Measured;
//!
//! fn compile(graph: &qnn_ir::Graph) -> Result<CompiledModel, Box<dyn std::error::Error>> {
//!     // Measures what the file lacks, writes it back; ship the file with the model.
//!     let policy = Measured::with_cache_file("model.lowerings.json")?;
//!     Ok(Compiler::new(CompileOptions::new().policy(policy)).compile(graph)?)
//! }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use qnn_legalize::policy::{Decision, DecisionContext, Estimate};
use qnn_legalize::{CostModel, Lowering, LoweringPolicy};

use crate::cache::{CacheEntry, DecisionCache, signature_key};
use crate::error::TuneError;
use crate::machine::MachineKey;
use crate::measure::measure_backend;
use crate::timing::MeasureSettings;

/// Called before each measurement with a line saying what is measured.
pub type ProgressFn = Box<dyn Fn(&str) + Send + Sync>;

/// The measuring policy. See the [module documentation](self).
pub struct Measured {
    settings: MeasureSettings,
    fallback: CostModel,
    measure: bool,
    machine: MachineKey,
    file: Option<PathBuf>,
    progress: Option<ProgressFn>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    cache: DecisionCache,
    /// Backends × signatures measured by this policy object.
    measurements: usize,
    /// The last failure to write the cache file (decisions go on without it).
    save_error: Option<String>,
}

impl std::fmt::Debug for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Measured")
            .field("settings", &self.settings)
            .field("fallback", &self.fallback)
            .field("measure", &self.measure)
            .field("machine", &self.machine)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Default for Measured {
    fn default() -> Self {
        Measured::new()
    }
}

impl Measured {
    /// Measures on this machine, keeping the times in memory only.
    pub fn new() -> Measured {
        Measured::with_cache(DecisionCache::default())
    }

    /// Starts from `cache` (e.g. one shipped with a model), in memory.
    pub fn with_cache(cache: DecisionCache) -> Measured {
        Measured {
            settings: MeasureSettings::SHORT,
            fallback: CostModel::new(),
            measure: true,
            machine: MachineKey::host(),
            file: None,
            progress: None,
            state: Mutex::new(State { cache, ..State::default() }),
        }
    }

    /// Reads `path` (a missing file is an empty cache) and writes it back after every new
    /// measurement. Entries of other machines in the file are kept.
    pub fn with_cache_file(path: impl AsRef<Path>) -> Result<Measured, TuneError> {
        let path = path.as_ref();
        let mut m = Measured::with_cache(DecisionCache::load(path)?);
        m.file = Some(path.to_path_buf());
        Ok(m)
    }

    /// How long and with how many threads to time.
    pub fn settings(mut self, settings: MeasureSettings) -> Measured {
        self.settings = settings;
        self
    }

    /// The policy for what is not measured (default: [`CostModel::new`]).
    pub fn fallback(mut self, fallback: CostModel) -> Measured {
        self.fallback = fallback;
        self
    }

    /// Never measure: decide from the cache, and with the fallback for the rest.
    pub fn cache_only(mut self) -> Measured {
        self.measure = false;
        self
    }

    /// The machine the cache is keyed by (default: this one, [`MachineKey::host`]). Timings
    /// are taken here whatever the key says: tests use it to stand for another machine.
    pub fn machine(mut self, machine: MachineKey) -> Measured {
        self.machine = machine;
        self
    }

    /// Reports each measurement before it starts (progress of long compilations).
    pub fn on_measure(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Measured {
        self.progress = Some(Box::new(f));
        self
    }

    /// A copy of the cache as it is now.
    pub fn cache(&self) -> DecisionCache {
        self.lock().cache.clone()
    }

    /// Backend × signature measurements this policy made (cache hits are not counted).
    pub fn measurements(&self) -> usize {
        self.lock().measurements
    }

    /// Why the cache file could not be written the last time, if it could not.
    pub fn save_error(&self) -> Option<String> {
        self.lock().save_error.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent cache (entries are inserted
        // whole), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cache entry of `backend` for this op, measuring it when missing (or when it
    /// lacks one of `lowerings`) and measuring is on. `Err` says why there is none.
    fn entry(
        &self,
        ctx: &DecisionContext<'_>,
        backend: &str,
        lowerings: &[Lowering],
    ) -> Result<CacheEntry, String> {
        let sig = ctx.signature;
        let threads = self.settings.threads;
        if let Some(e) = self.lock().cache.lookup(&self.machine, backend, threads, sig)
            && lowerings.iter().all(|l| e.lowering(*l).is_some())
        {
            return Ok(e.clone());
        }
        if !self.measure {
            return Err(format!("{backend} not in the cache for this machine"));
        }
        if let Some(p) = &self.progress {
            p(&format!("measuring {} ({}) on {backend}", sig.node, kind_shape(sig)));
        }
        let measured = measure_backend(sig, backend, lowerings, &self.settings)
            .map_err(|e| format!("measuring on {backend} failed: {e}"))?;
        let fastest = measured
            .iter()
            .min_by(|a, b| a.sample.median_ns.total_cmp(&b.sample.median_ns))
            .map(|m| m.lowering)
            .ok_or_else(|| format!("{backend}: nothing to measure"))?;
        let entry = CacheEntry {
            machine: self.machine.clone(),
            backend: backend.to_string(),
            threads,
            signature: signature_key(sig),
            first_node: sig.node.clone(),
            fastest,
            lowerings: measured,
        };
        let mut st = self.lock();
        st.cache.insert(entry.clone());
        st.measurements += 1;
        if let Some(path) = &self.file {
            st.save_error = st.cache.save(path).err().map(|e| e.to_string());
        }
        Ok(entry)
    }
}

/// `conv2d 3×3 56×56×64→64 s1` for progress lines.
fn kind_shape(sig: &qnn_legalize::OpSignature) -> String {
    format!(
        "{:?} {}×{} {}×{}×{}→{} s{}",
        sig.kind, sig.r, sig.s, sig.h, sig.w, sig.c, sig.o, sig.strides[0]
    )
}

fn us(ns: f64) -> String {
    format!("{:.1} µs", ns / 1e3)
}

impl LoweringPolicy for Measured {
    fn name(&self) -> String {
        let mut s = format!("measured({} thread", self.settings.threads);
        if self.settings.threads != 1 {
            s += "s";
        }
        if let Some(f) = &self.file {
            s += &format!(", cache {}", f.display());
        }
        if !self.measure {
            s += ", cache only";
        }
        s + &format!(", else {})", self.fallback.name())
    }

    fn decide(&self, ctx: &DecisionContext<'_>) -> Result<Decision, String> {
        let cost = self.fallback.decide(ctx);
        let cost_estimates = cost.as_ref().map(|d| d.estimates.clone()).unwrap_or_default();
        let mut estimates: Vec<Estimate> = ctx
            .candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cost_estimates.get(i).cloned().unwrap_or_else(|| Estimate {
                    backend: c.backend.name.into(),
                    lowering: c.lowering,
                    cycles: None,
                    note: "cost model: no estimate".into(),
                    measured_ns: None,
                })
            })
            .collect();
        let not_measured = |why: String, estimates: Vec<Estimate>| match &cost {
            Ok(d) => Ok(Decision {
                choice: d.choice,
                reason: format!("not measured ({why}); cost model: {}", d.reason),
                estimates,
            }),
            Err(e) => Err(format!("not measured ({why}), and the cost model refused: {e}")),
        };
        if !ctx.target.is_host() {
            let why = format!("target `{}` is not this machine", ctx.target.name());
            return not_measured(why, estimates);
        }

        // Lowerings to time per backend, in candidate order.
        let mut per_backend: BTreeMap<&str, Vec<Lowering>> = BTreeMap::new();
        for c in ctx.candidates {
            let ls = per_backend.entry(c.backend.name).or_default();
            if !ls.contains(&c.lowering) {
                ls.push(c.lowering);
            }
        }
        let mut missing = Vec::new();
        let mut hits = 0;
        for (backend, lowerings) in &per_backend {
            let before = self.measurements();
            match self.entry(ctx, backend, lowerings) {
                Ok(entry) => {
                    if self.measurements() == before {
                        hits += 1;
                    }
                    for (c, e) in ctx.candidates.iter().zip(estimates.iter_mut()) {
                        if c.backend.name != *backend {
                            continue;
                        }
                        if let Some(m) = entry.lowering(c.lowering) {
                            e.measured_ns = Some(m.sample.median_ns);
                            let via = if m.ran_on == *backend {
                                String::new()
                            } else {
                                format!(", on {} ({backend} has no kernel for it)", m.ran_on)
                            };
                            let set_aside = match m.sample.preempted {
                                0 => String::new(),
                                n => format!(", {n} preempted runs set aside"),
                            };
                            e.note = format!(
                                "{}; measured {} (median of {}, ±{:.0} %{set_aside}) with {}{via}",
                                e.note,
                                us(m.sample.median_ns),
                                m.sample.runs,
                                50.0 * m.sample.spread,
                                m.kernel
                            );
                        }
                    }
                }
                Err(why) => missing.push(why),
            }
        }
        if !missing.is_empty() {
            return not_measured(missing.join("; "), estimates);
        }
        let best = estimates
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.measured_ns.map(|t| (i, t)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let Some((choice, t)) = best else {
            return not_measured("no candidate".into(), estimates);
        };
        let runner_up = estimates
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != choice)
            .filter_map(|(i, e)| e.measured_ns.map(|t| (i, t)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let source = if hits == per_backend.len() { "cached" } else { "measured now" };
        let c = &ctx.candidates[choice];
        let reason = match runner_up {
            Some((j, other)) => format!(
                "{} is fastest: {} vs {} for {} ({source})",
                c.describe(),
                us(t),
                us(other),
                ctx.candidates[j].describe()
            ),
            None => format!("{} is the only candidate: {} ({source})", c.describe(), us(t)),
        };
        Ok(Decision { choice, reason, estimates })
    }
}
