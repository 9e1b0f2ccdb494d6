//! `cargo xtask calibrate [--quick]`: times each usable backend's kernel classes on the
//! calibration shapes and writes the fitted cost figures to
//! `target/qnn-bench/HOST/calibration.json`, where `cargo xtask bench` reads them (and where
//! `CostModel::new().calibrated(Calibration::from_json(…))` can load them).

use anyhow::Result;

use crate::cli::CalibrateArgs;
use crate::steps::{self, Cmd, Step};
use crate::tools;

/// Where the calibration of `host` is written.
pub fn calibration_path(host: &str) -> String {
    format!("target/qnn-bench/{host}/calibration.json")
}

/// The one step: the `calibrate` binary of `qnn-benches`, optimized.
pub fn plan(args: &CalibrateArgs, host: &str) -> Vec<Step> {
    let mut cmd = Cmd::new("cargo")
        .args(["run", "--release", "-p", "qnn-benches", "--bin", "calibrate", "--", "--out"])
        .arg(calibration_path(host));
    if args.quick {
        cmd = cmd.arg("--quick");
    }
    vec![Step::run("calibrate the cost model on this machine", cmd)]
}

pub fn run(args: &CalibrateArgs) -> Result<bool> {
    let host = tools::host_triple()?;
    let records = steps::run_all("cargo xtask calibrate", &plan(args, &host));
    Ok(steps::all_passed(&records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_where_the_bench_reads() {
        let steps = plan(&CalibrateArgs { quick: true }, "x86_64-unknown-linux-gnu");
        let crate::steps::Action::Run(cmd) = &steps[0].action else { panic!("{steps:?}") };
        assert_eq!(
            cmd.to_string(),
            "cargo run --release -p qnn-benches --bin calibrate -- --out \
             target/qnn-bench/x86_64-unknown-linux-gnu/calibration.json --quick"
        );
    }
}
