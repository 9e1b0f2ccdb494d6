//! Timing compiled models alternately: one run of each candidate per round (the order rotated
//! every round), so that a disturbance on a shared machine (another build, a fuzzer) hits
//! every candidate alike instead of one of them; medians, not means.

use std::time::{Duration, Instant};

use qnn_ir::Tensor;
use qnn_runtime::{CompiledModel, RuntimeError, Workspace};
use serde::{Deserialize, Serialize};

/// How long and how often to time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeasureSettings {
    /// Threads of the compiled models.
    pub threads: usize,
    /// Untimed runs of each candidate first (caches, page faults, the thread pool).
    pub warmup: usize,
    /// Timed runs of each candidate at least…
    pub min_runs: usize,
    /// …and at most.
    pub max_runs: usize,
    /// Rounds continue until this much time has passed (after `min_runs`).
    pub min_time: Duration,
    /// A candidate whose fastest of the first `min_runs.min(3)` runs is this many times
    /// slower than the fastest candidate's stops there: its median cannot make it the
    /// fastest.
    pub slow_factor: f64,
}

impl MeasureSettings {
    /// Short: what the `Measured` policy spends per signature (≈ 50 ms per candidate).
    pub const SHORT: MeasureSettings = MeasureSettings {
        threads: 1,
        warmup: 2,
        min_runs: 7,
        max_runs: 200,
        min_time: Duration::from_millis(100),
        slow_factor: 4.0,
    };

    /// Longer: the reference timings of `cargo xtask bench`.
    pub const BENCH: MeasureSettings = MeasureSettings {
        threads: 1,
        warmup: 3,
        min_runs: 15,
        max_runs: 2000,
        min_time: Duration::from_millis(400),
        slow_factor: 4.0,
    };
}

impl Default for MeasureSettings {
    fn default() -> Self {
        MeasureSettings::SHORT
    }
}

/// What was measured for one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Median of the timed runs, in nanoseconds.
    pub median_ns: f64,
    pub min_ns: f64,
    /// Interquartile range over the median: the run-to-run noise.
    pub spread: f64,
    pub runs: usize,
}

impl Sample {
    /// The statistics of `ns` (at least one run).
    fn of(mut ns: Vec<f64>) -> Sample {
        ns.sort_by(f64::total_cmp);
        let q = |f: f64| ns[((ns.len() - 1) as f64 * f).round() as usize];
        let median = q(0.5);
        Sample {
            median_ns: median,
            min_ns: ns[0],
            spread: (q(0.75) - q(0.25)) / median,
            runs: ns.len(),
        }
    }
}

/// A compiled model with its input and workspace, ready to run again and again.
#[derive(Debug)]
pub struct Runnable {
    pub model: CompiledModel,
    pub input: Tensor,
    ws: Workspace,
}

impl Runnable {
    pub fn new(model: CompiledModel, input: Tensor) -> Runnable {
        Runnable { model, input, ws: Workspace::default() }
    }

    /// One run; the time of its steps (the input copy and output conversion of the model's
    /// edges excluded: they cost the same under every lowering and are not the op's).
    pub fn run_once(&mut self) -> Result<Duration, RuntimeError> {
        let (_, steps) =
            self.model.run_profiled(&mut self.ws, std::slice::from_ref(&self.input))?;
        Ok(steps.iter().sum())
    }
}

/// Times `cands` alternately; one [`Sample`] per candidate. `progress` is called after each
/// round. A failing run ends the measurement with the error.
pub fn time_alternately(
    cands: &mut [Runnable],
    s: &MeasureSettings,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Sample>, RuntimeError> {
    for c in cands.iter_mut() {
        for _ in 0..s.warmup {
            c.run_once()?;
        }
    }
    let n = cands.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); n];
    // Runs each candidate may take: unbounded, until the first round shows it is slow.
    let mut cap = vec![usize::MAX; n];
    let start = Instant::now();
    let mut round = 0usize;
    loop {
        for j in 0..n {
            let i = (j + round) % n;
            if times[i].len() < cap[i] {
                times[i].push(cands[i].run_once()?.as_nanos() as f64);
            }
        }
        round += 1;
        progress(round);
        // After a few rounds, a candidate whose best run is far slower than the best run of
        // all stops: its median cannot make it the fastest. The fastest run of each, not
        // its first, so that one disturbed run does not stop a fast candidate.
        let probe_rounds = s.min_runs.clamp(1, 3);
        if round == probe_rounds {
            let mins: Vec<f64> =
                times.iter().map(|t| t.iter().copied().fold(f64::INFINITY, f64::min)).collect();
            let best = mins.iter().copied().fold(f64::INFINITY, f64::min);
            for (c, m) in cap.iter_mut().zip(&mins) {
                if *m > s.slow_factor * best {
                    *c = probe_rounds;
                }
            }
        }
        let enough = round >= s.min_runs && start.elapsed() >= s.min_time;
        if enough || round >= s.max_runs.max(1) {
            break;
        }
    }
    Ok(times.into_iter().map(Sample::of).collect())
}
