//! `cargo xtask stress [--time S] [--threads N]`: the runtime's concurrency stress test
//! (`crates/qnn-runtime/tests/stress.rs`) for longer than `cargo test` runs it — `N` caller
//! threads (default 8) on one shared compiled model for `S/2` seconds, then on every compiled
//! model at once (each usable backend × lowering × pool size) for `S/2`, each output compared
//! with a single-threaded run. Built in release mode: more runs per second, and the
//! optimized code is what services run.

use anyhow::Result;

use crate::cli::StressArgs;
use crate::steps::{self, Cmd, Step};

/// The command of the run.
pub fn plan(args: &StressArgs) -> Vec<Step> {
    let half = (args.time as f64 / 2.0).max(0.5);
    let cmd = Cmd::new("cargo")
        .args(["test", "--release", "-p", "qnn-runtime", "--test", "stress", "--", "--nocapture"])
        .env("QNN_STRESS_SECS", format!("{half}"))
        .env("QNN_STRESS_THREADS", args.threads.to_string());
    vec![Step::run(format!("stress {} s, {} threads", args.time, args.threads), cmd)]
}

pub fn run(args: &StressArgs) -> Result<bool> {
    let records = steps::run_all("cargo xtask stress", &plan(args));
    Ok(steps::all_passed(&records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::Action;

    #[test]
    fn half_the_time_per_phase() {
        let p = plan(&StressArgs { time: 600, threads: 16 });
        let Action::Run(c) = &p[0].action else { panic!("{p:?}") };
        assert_eq!(c.env_value("QNN_STRESS_SECS"), Some("300"));
        assert_eq!(c.env_value("QNN_STRESS_THREADS"), Some("16"));
        assert!(c.to_string().ends_with("--test stress -- --nocapture"), "{c}");
    }
}
