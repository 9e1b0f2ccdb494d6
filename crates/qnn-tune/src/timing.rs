//! Timing compiled models alternately: one run of each candidate per round (the order rotated
//! every round), so that a disturbance on a shared machine (another build, a fuzzer) hits
//! every candidate alike instead of one of them; medians, not means.
//!
//! On a machine with more runnable threads than cores, a run of a millisecond or more is
//! often descheduled halfway, and its wall time then holds the other process's time slice:
//! at a load of 7 on 2 cores a quarter or more of the runs can be several times too slow,
//! enough to move a median. Where the kernel reports it (`/proc/thread-self/schedstat`,
//! Linux), each run's wait on the run queue is read before and after, and runs that waited
//! more than 2 % of their time are set aside; the median is taken over the others, as long
//! as at least three of them (and half the runs) remain.

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
    /// Runs the statistics are over.
    pub runs: usize,
    /// Runs set aside because the thread waited for a core during them.
    #[serde(default)]
    pub preempted: usize,
}

impl Sample {
    /// The statistics of the undisturbed runs of `runs` (time, preempted), or of all of them
    /// when too few were undisturbed (at least one run).
    fn of_runs(runs: &[(f64, bool)]) -> Sample {
        let clean: Vec<f64> = runs.iter().filter(|r| !r.1).map(|r| r.0).collect();
        if clean.len() >= 3 && 2 * clean.len() >= runs.len() {
            Sample { preempted: runs.len() - clean.len(), ..Sample::of(clean) }
        } else {
            Sample::of(runs.iter().map(|r| r.0).collect())
        }
    }

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
            preempted: 0,
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

/// Nanoseconds this thread has spent waiting on a run queue, where Linux reports it.
fn run_queue_wait_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `c` once: its time, and whether it waited for a core for more than 2 % of it.
fn timed_run(c: &mut Runnable) -> Result<(f64, bool), RuntimeError> {
    let before = run_queue_wait_ns();
    let t = c.run_once()?.as_nanos() as f64;
    let waited = match (before, run_queue_wait_ns()) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 > 0.02 * t,
        _ => false,
    };
    Ok((t, waited))
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
    let mut times: Vec<Vec<(f64, bool)>> = vec![Vec::new(); n];
    // Runs each candidate may take: unbounded, until the first round shows it is slow.
    let mut cap = vec![usize::MAX; n];
    let start = Instant::now();
    let mut round = 0usize;
    loop {
        for j in 0..n {
            let i = (j + round) % n;
            if times[i].len() < cap[i] {
                times[i].push(timed_run(&mut cands[i])?);
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
                times.iter().map(|t| t.iter().map(|r| r.0).fold(f64::INFINITY, f64::min)).collect();
            let best = mins.iter().copied().fold(f64::INFINITY, f64::min);
            for (c, m) in cap.iter_mut().zip(&mins) {
                if *m > s.slow_factor * best {
                    *c = probe_rounds;
                }
            }
        }
        // Enough when every candidate still running has `min_runs` undisturbed runs, or
        // after three times as many rounds (a long run is rarely left alone on a busy
        // machine: then the median is over all runs).
        let clean = times
            .iter()
            .zip(&cap)
            .all(|(t, c)| t.len() >= *c || t.iter().filter(|r| !r.1).count() >= s.min_runs);
        let enough = round >= s.min_runs && (clean || round >= 3 * s.min_runs);
        if (enough && start.elapsed() >= s.min_time) || round >= s.max_runs.max(1) {
            break;
        }
    }
    Ok(times.iter().map(|t| Sample::of_runs(t)).collect())
}

#[cfg(test)]
mod tests {
    use super::Sample;

    #[test]
    fn preempted_runs_are_set_aside_while_enough_remain() {
        // Five clean runs near 100, three descheduled ones far slower.
        let runs = [
            (101.0, false),
            (400.0, true),
            (99.0, false),
            (100.0, false),
            (380.0, true),
            (102.0, false),
            (98.0, false),
            (390.0, true),
        ];
        let s = Sample::of_runs(&runs);
        assert_eq!((s.median_ns, s.min_ns, s.runs, s.preempted), (100.0, 98.0, 5, 3));
        // Fewer clean runs than preempted ones: every run counts.
        let mostly_preempted = [(100.0, false), (300.0, true), (310.0, true), (320.0, true)];
        let s = Sample::of_runs(&mostly_preempted);
        assert_eq!((s.median_ns, s.runs, s.preempted), (310.0, 4, 0));
    }
}
