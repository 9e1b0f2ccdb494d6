//! The decision benchmark behind `cargo xtask bench`: for every layer of the suite on every
//! usable backend, both lowerings timed (alternating runs, medians), which lowering the
//! Capability, CostModel (descriptor figures and calibrated) and Measured policies pick, and
//! whether each pick was the fastest; the two whole models under each policy and forced
//! lowering; a summary of decision quality. Prints tables, writes `results.json`,
//! `results.md` and `speedup.svg` to `--out`.
//!
//! ```text
//! decisions [--quick] [--emulated] [--out DIR] [--threads N] [--layers a,b] [--data u8|s8]
//!           [--no-models] [--recalibrate] [--remeasure] [--note TEXT] [--bench]
//! ```
//!
//! `--data s8` takes the suite's layers with s8 activations (zero point 0) instead of u8:
//! the operands TFLite-style models have, and the ones `arm-neon`'s int8 kernels take.
//!
//! `--emulated` (set by `cargo xtask bench` under qemu, where timings mean nothing) times
//! each candidate three times after one warm-up, enough to exercise every backend, kernel
//! and policy.
//!
//! The Measured policy keeps its own timings in `DIR/measured-lowerings.json` (taken on the
//! first run, reused after) and the calibration in `DIR/calibration.json`: the reference
//! timings the picks are judged by are taken separately, so a policy is never judged by the
//! numbers it decided with.

pub mod chart;
pub mod layers;
pub mod models;
pub mod quality;
pub mod report;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use qnn_legalize::policy::Calibration;
use qnn_legalize::{Capability, CostModel, LoweringPolicy, Target};
use qnn_tune::timing::MeasureSettings;
use qnn_tune::{MachineKey, Measured, calibrate};
use serde::{Deserialize, Serialize};

use self::layers::LayerResult;
use self::models::ModelResult;
use self::quality::Quality;

/// The `format` of `results.json`.
pub const FORMAT: &str = "qnn-bench/1";

/// Everything one run found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub format: String,
    pub machine: MachineKey,
    /// Said at the top and bottom of every output (emulation: timings not representative).
    pub note: Option<String>,
    pub threads: usize,
    /// Activation dtype of the layers (`u8`, `i8`).
    pub data: String,
    pub quick: bool,
    pub load_before: String,
    pub load_after: String,
    /// Usable backends, in priority order.
    pub backends: Vec<String>,
    /// Registered backends this machine cannot run, with why.
    pub unusable: Vec<String>,
    /// Short policy labels, the table's columns.
    pub policies: Vec<String>,
    /// The policies' full names.
    pub policy_names: Vec<String>,
    pub calibration: Calibration,
    pub layers: Vec<LayerResult>,
    pub models: Vec<ModelResult>,
    pub quality: Vec<Quality>,
    pub seconds: f64,
}

#[derive(Debug)]
struct Args {
    quick: bool,
    emulated: bool,
    data: qnn_ir::DType,
    out: PathBuf,
    threads: usize,
    layers: Option<Vec<String>>,
    models: bool,
    recalibrate: bool,
    remeasure: bool,
    note: Option<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        quick: false,
        emulated: false,
        data: qnn_ir::DType::U8,
        out: PathBuf::from("target/qnn-bench"),
        threads: 1,
        layers: None,
        models: true,
        recalibrate: false,
        remeasure: false,
        note: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--emulated" => a.emulated = true,
            "--data" => {
                a.data = match value()?.as_str() {
                    "u8" => qnn_ir::DType::U8,
                    "s8" | "i8" => qnn_ir::DType::I8,
                    other => bail!("--data u8|s8, not `{other}`"),
                }
            }
            "--out" => a.out = value()?.into(),
            "--threads" => a.threads = value()?.parse().context("--threads N")?,
            "--layers" => a.layers = Some(value()?.split(',').map(String::from).collect()),
            "--no-models" => a.models = false,
            "--recalibrate" => a.recalibrate = true,
            "--remeasure" => a.remeasure = true,
            "--note" => a.note = Some(value()?),
            // cargo bench passes `--bench`; criterion-style filters are not used here.
            "--bench" => {}
            other => bail!(
                "unknown argument `{other}`; usage: decisions [--quick] [--emulated] [--out DIR] [--threads N] \
                 [--layers a,b] [--data u8|s8] [--no-models] [--recalibrate] [--remeasure] [--note TEXT]"
            ),
        }
    }
    Ok(a)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Progress on stderr, one line per step, without a newline until the step ends.
fn say(s: &str) {
    eprint!("{s}");
    let _ = std::io::stderr().flush();
}

/// The calibration of this machine: the saved one when it is for this machine, else a
/// fresh one (saved).
fn calibration(
    a: &Args,
    machine: &MachineKey,
    settings: &MeasureSettings,
) -> anyhow::Result<Calibration> {
    let path = a.out.join("calibration.json");
    if !a.recalibrate
        && let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(c) = Calibration::from_json(&text)
        && c.machine == machine.to_string()
    {
        eprintln!("calibration: {} (this machine)", path.display());
        return Ok(c);
    }
    say("calibrating the cost model:");
    let run = calibrate(settings, |line| {
        say(&format!(" {}", line.rsplit(':').next().unwrap_or(line).trim()))
    })?;
    eprintln!(" done");
    std::fs::write(&path, run.calibration.to_json() + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(run.calibration)
}

/// Runs the benchmark (the `decisions` bench's `main`).
pub fn main() -> anyhow::Result<()> {
    let mut a = args()?;
    let start = Instant::now();
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    a.out = std::fs::canonicalize(&a.out).unwrap_or(a.out);
    let machine = MachineKey::host();
    let host = Target::host();
    let load_before = load_average();
    let banner = a.note.as_ref().map(|n| format!("!!! {n} !!!"));
    if let Some(b) = &banner {
        println!("{b}\n");
    }
    println!("machine: {machine}");
    println!(
        "backends: {} · threads: {} · {} activations · load average: {load_before}",
        host.backend_names(),
        a.threads,
        a.data
    );
    let unusable: Vec<String> = qnn_ir::backend::registry::backends()
        .into_iter()
        .filter_map(|d| d.probe().err().map(|why| format!("{}: {why}", d.name)))
        .collect();
    for u in &unusable {
        println!("not usable here: {u}");
    }

    let mut reference = MeasureSettings { threads: a.threads.max(1), ..MeasureSettings::BENCH };
    let mut short = MeasureSettings { threads: a.threads.max(1), ..MeasureSettings::SHORT };
    if a.quick {
        reference =
            MeasureSettings { min_runs: 9, min_time: Duration::from_millis(150), ..reference };
        short = MeasureSettings { min_runs: 5, min_time: Duration::from_millis(50), ..short };
    }
    if a.emulated {
        let few = MeasureSettings {
            warmup: 1,
            min_runs: 3,
            max_runs: 3,
            min_time: Duration::ZERO,
            ..reference
        };
        reference = few;
        short = MeasureSettings { min_runs: 1, max_runs: 1, ..few };
    }
    let cal = calibration(&a, &machine, &short)?;
    let cache = a.out.join("measured-lowerings.json");
    if a.remeasure {
        let _ = std::fs::remove_file(&cache);
    }
    let measured = Arc::new(
        Measured::with_cache_file(&cache)?
            .settings(short)
            .on_measure(|line| say(&format!("\n    {line}"))),
    );
    let policies: Vec<(String, Arc<dyn LoweringPolicy>)> = vec![
        ("capability".into(), Arc::new(Capability)),
        ("cost-model".into(), Arc::new(CostModel::new())),
        ("calibrated".into(), Arc::new(CostModel::new().calibrated(cal.clone()))),
        ("measured".into(), measured.clone()),
    ];
    println!(
        "policies: {}\n",
        policies.iter().map(|(l, p)| format!("{l} = {}", p.name())).collect::<Vec<_>>().join("; ")
    );

    let mut suite = crate::suite::layers()?;
    if let Some(keep) = &a.layers {
        suite.retain(|l| keep.contains(&l.name));
    }
    let mut layer_results = Vec::new();
    for (i, layer) in suite.iter().enumerate() {
        let t = Instant::now();
        say(&format!(
            "[{:>2}/{}] {} ({:.1} MMAC): timing",
            i + 1,
            suite.len(),
            layer.name,
            layer.macs as f64 / 1e6
        ));
        let r = layers::run_layer(
            &layer.signature_with_data(a.data),
            &host,
            &policies,
            &reference,
            |step| say(&format!(" {step}")),
        )?;
        eprintln!(" · {:.1} s", t.elapsed().as_secs_f64());
        layer_results.push(r);
    }
    let mut model_results = Vec::new();
    if a.models {
        for m in crate::models::whole_models()? {
            let t = Instant::now();
            say(&format!(
                "[model] {} ({} conv/dense, {:.0} MMAC): compiling and timing",
                m.name,
                m.convs,
                m.macs as f64 / 1e6
            ));
            let forced = !a.quick && !a.emulated;
            model_results.push(models::run_model(&m, &host, &policies, &reference, forced)?);
            eprintln!(" · {:.1} s", t.elapsed().as_secs_f64());
        }
    }
    if let Some(e) = measured.save_error() {
        eprintln!("warning: the measured policy could not write {}: {e}", cache.display());
    }
    let labels: Vec<String> = policies.iter().map(|(l, _)| l.clone()).collect();
    let report = BenchReport {
        format: FORMAT.into(),
        machine,
        note: a.note.clone(),
        threads: a.threads.max(1),
        data: a.data.to_string(),
        quick: a.quick,
        load_before,
        load_after: load_average(),
        backends: host.backends().iter().map(|d| d.name.to_string()).collect(),
        unusable,
        policy_names: policies.iter().map(|(l, p)| format!("{l} = {}", p.name())).collect(),
        quality: quality::quality(&layer_results, &labels),
        policies: labels,
        calibration: cal,
        layers: layer_results,
        models: model_results,
        seconds: start.elapsed().as_secs_f64(),
    };
    println!("\n{}", report::layer_table(&report));
    if !report.models.is_empty() {
        println!("{}", report::model_table(&report));
    }
    println!(
        "decision quality ((layer, backend) pairs with a choice; host: the policy also picks the backend)"
    );
    println!("{}", report::quality_table(&report));
    let files = [
        ("results.json", serde_json::to_string_pretty(&report)? + "\n"),
        ("results.md", report::markdown(&report)),
        ("speedup.svg", chart::svg(&report)),
    ];
    for (name, text) in files {
        let p = a.out.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
        println!("wrote {}", p.display());
    }
    println!(
        "load average before / after: {} / {} · {:.0} s",
        report.load_before, report.load_after, report.seconds
    );
    if let Some(b) = &banner {
        println!("\n{b}");
    }
    Ok(())
}
