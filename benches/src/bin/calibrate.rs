//! `cargo xtask calibrate`: fits the cost model's figures to this machine and writes them
//! where `cargo xtask bench` (and anyone calling `CostModel::calibrated`) reads them.
//!
//! ```sh
//! cargo run --release -p qnn-benches --bin calibrate -- [--out FILE] [--quick]
//! ```
//!
//! Prints each calibration shape's time per backend and kernel class, then the fitted
//! figures next to the descriptors'.

#[cfg(target_arch = "aarch64")]
use backend_arm_dotprod as _;
#[cfg(target_arch = "aarch64")]
use backend_arm_neon as _;
#[cfg(target_arch = "x86_64")]
use backend_x86_avx2 as _;
#[cfg(target_arch = "x86_64")]
use backend_x86_vnni as _;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use qnn_ir::backend::registry;
use qnn_tune::{MeasureSettings, calibrate};

fn main() -> anyhow::Result<()> {
    let mut out = PathBuf::from("target/qnn-bench/calibration.json");
    let mut settings = MeasureSettings::SHORT;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = it.next().context("--out FILE")?.into(),
            "--quick" => {
                settings =
                    MeasureSettings { min_runs: 3, min_time: Duration::from_millis(30), ..settings }
            }
            "--bench" => {}
            other => bail!("unknown argument `{other}`; usage: calibrate [--out FILE] [--quick]"),
        }
    }
    eprint!("calibrating:");
    let run = calibrate(&settings, |line| {
        eprint!(" {}", line.trim_start_matches("calibrating "));
        let _ = std::io::stderr().flush();
    })?;
    eprintln!();
    println!("machine: {}", run.machine);
    println!(
        "\n{:<10} {:<16} {:<30} {:<13} {:>10} {:>8}",
        "backend", "class", "shape", "lowering", "time", "GMAC/s"
    );
    for p in &run.points {
        println!(
            "{:<10} {:<16} {:<30} {:<13} {:>7.3} ms {:>8.1}",
            p.backend,
            p.class,
            p.shape,
            p.lowering.as_str(),
            p.median_ns / 1e6,
            p.macs as f64 / p.median_ns
        );
    }
    let cal = &run.calibration;
    println!(
        "\nclock: {:.2} GHz (the clock at which the descriptors' figures hold here)",
        cal.clock_ghz
    );
    println!("{:<10} {:<16} {:>12} {:>12}", "backend", "class", "descriptor", "calibrated");
    for (b, f) in &cal.backends {
        for (class, rate) in &f.macs_per_cycle {
            let desc = registry::backend(b)
                .and_then(|d| d.capabilities.costs.iter().find(|c| c.class.as_str() == class))
                .map_or("-".into(), |c| format!("{:.2}", c.macs_per_cycle));
            println!("{b:<10} {class:<16} {desc:>12} {rate:>12.2}");
        }
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&out, cal.to_json() + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "\nwrote {} (MACs per cycle; load it with CostModel::new().calibrated(…))",
        out.display()
    );
    Ok(())
}
