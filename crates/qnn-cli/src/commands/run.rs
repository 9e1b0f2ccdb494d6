//! `qnn run`: import, compile for this machine, run on the input files, write the outputs
//! with their ONNX element types, print the latency.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use qnn_ir::Tensor;
use qnn_onnx::{IoInfo, OnnxType};
use qnn_runtime::{CompileOptions, CompiledModel, Workspace};

use crate::cli::{PolicyArg, RunArgs};
use crate::engine::{self, Engine, Timing};
use crate::load::{self, Loaded, npy_type};
use crate::memory;
use crate::out::outln;
use crate::outputs;
use crate::selection;

/// The most step times `--profile` keeps (16 bytes each).
const MAX_PROFILED: u64 = 1 << 26;

pub fn run(args: &RunArgs) -> Result<()> {
    let t_load = Instant::now();
    let mut loaded = load::load(&args.model, true)?;
    loaded.release_model();
    let import = t_load.elapsed();
    if loaded.imported.outputs.is_empty() {
        bail!(
            "{} declares no graph output: running it would compute nothing",
            loaded.path.display()
        );
    }
    // Before any work: the outputs must not replace the files this run reads.
    let mut read = vec![loaded.path.clone()];
    read.extend(loaded.files.iter().cloned());
    outputs::check_targets(&args.out, &outputs::names(loaded.imported.outputs.len()), &read)?;
    let feeds: Vec<Tensor> = loaded.feeds.iter().flatten().cloned().collect();
    let model_name = loaded.path.display().to_string();

    let mut opts = CompileOptions::default().threads(args.threads);
    if let Some(b) = &args.backend {
        opts = opts.backend(Some(b));
    }
    if let Some(name) = &args.select.target {
        let t = selection::target(Some(name))?;
        selection::check_runnable(&t)?;
        opts = opts.target(t);
    }
    opts = match args.select.policy {
        PolicyArg::Capability => opts.policy(qnn_legalize::Capability),
        PolicyArg::CostModel => opts.policy(qnn_legalize::CostModel::new()),
    };
    opts = opts.lowering(selection::lowering(args.select.lowering));

    let t0 = Instant::now();
    let engine = Engine::new(&loaded.imported.graph, opts, args.reference, &model_name)?;
    let compile = t0.elapsed();
    if let Engine::Reference { why, .. } = &engine {
        eprintln!("note: running on the reference interpreter (exact, slow): {why}");
    }
    if args.report {
        match engine.compiled() {
            Some(m) => outln!("{}", m.report()),
            None => outln!("(no plan: the reference interpreter runs the imported graph)"),
        }
    }

    if let (true, Some(m)) = (args.profile, engine.compiled()) {
        // One time per step and run is kept for the medians.
        let kept = (m.report().steps.len() as u64).saturating_mul(u64::from(args.repeat));
        if kept > MAX_PROFILED {
            bail!(
                "--profile with --repeat {} keeps {kept} step times for {} steps; at most \
                 {MAX_PROFILED}: lower --repeat",
                args.repeat,
                m.report().steps.len()
            );
        }
    }

    let mut ws = Workspace::default();
    let (outputs, first) = engine::first_run(&engine, &mut ws, &feeds, &model_name)?;
    let written = write_outputs(&args.out, &loaded.imported.outputs, &outputs)?;
    let stale = outputs::stale(&args.out, outputs.len());
    if !stale.is_empty() {
        eprintln!(
            "warning: {} also holds {} from an earlier run: the model has {} output(s), so \
             {} not one of them",
            args.out.display(),
            load::list(&stale),
            outputs.len(),
            if stale.len() == 1 { "that file is" } else { "those files are" }
        );
    }

    let timing = if args.repeat > 1 || args.profile {
        for _ in 1..args.warmup {
            engine.run(&mut ws, &feeds)?;
        }
        engine::time_runs(&engine, &mut ws, &feeds, &outputs, args.repeat as usize, args.profile)?
    } else {
        Timing { runs: vec![first], warm: false, steps: Vec::new() }
    };
    if args.json {
        outln!("{}", summary_json(&loaded, &engine, compile, &timing, &written));
    } else {
        print_summary(&loaded, &engine, compile, &timing, &written);
    }
    if let (true, Some(m)) = (args.profile, engine.compiled()) {
        print_compile_phases(m, import, compile);
        print_memory(&loaded, m);
        print_profile(m, &timing.steps);
    }
    Ok(())
}

/// Writes `output_<k>.npy` per graph output, all or nothing (see [`outputs`]); returns
/// `(file name, description)` per output.
fn write_outputs(
    dir: &Path,
    infos: &[IoInfo],
    tensors: &[Tensor],
) -> Result<Vec<(String, String)>> {
    if infos.len() != tensors.len() {
        bail!(
            "the model declares {} output(s) and the compiled graph gives {}",
            infos.len(),
            tensors.len()
        );
    }
    let mut written = Vec::new();
    let mut pending = Vec::new();
    for ((k, (info, t)), name) in
        infos.iter().zip(tensors).enumerate().zip(outputs::names(infos.len()))
    {
        let native = qnn_npy::NpyType::of(t.dtype());
        let ty = match info.elem_type {
            OnnxType(0) => native,
            declared => npy_type(declared).ok_or_else(|| {
                anyhow::anyhow!(
                    "output {k} `{}` has element type {declared}, which qnn cannot write",
                    info.name
                )
            })?,
        };
        if ty.carrier() != t.dtype() {
            bail!(
                "output {k} `{}` is {ty} in the model, but the compiled graph gives {} (a bug: please report it)",
                info.name,
                t.dtype()
            );
        }
        let bytes = qnn_npy::to_bytes_as(t, ty)
            .with_context(|| format!("cannot write output {k} `{}`", info.name))?;
        let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
        written.push((name.clone(), format!("{} {ty}[{}]", info.name, dims.join(","))));
        pending.push(outputs::Pending { name, bytes });
    }
    outputs::write_all(dir, &pending)?;
    Ok(written)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median and minimum in milliseconds.
fn stats(runs: &[Duration]) -> (f64, f64) {
    let mut v: Vec<f64> = runs.iter().map(|&d| ms(d)).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    (median, v[0])
}

fn print_summary(
    l: &Loaded,
    e: &Engine,
    compile: Duration,
    t: &Timing,
    written: &[(String, String)],
) {
    match e.compiled() {
        Some(m) => {
            let r = m.report();
            outln!(
                "{}: compiled in {:.1} ms for {} ({} thread{}, backends {})",
                l.path.display(),
                ms(compile),
                r.target,
                m.threads(),
                if m.threads() == 1 { "" } else { "s" },
                r.backends.join(", ")
            );
        }
        None => outln!("{}: reference interpreter (1 thread)", l.path.display()),
    }
    for (file, what) in written {
        outln!("  wrote {file}  {what}");
    }
    let (median, min) = stats(&t.runs);
    if t.runs.len() == 1 {
        let warm = if t.warm { "after a warm-up run" } else { "first run, cold" };
        outln!("latency {median:.3} ms ({warm})");
    } else {
        outln!(
            "latency median {median:.3} ms, min {min:.3} ms over {} runs (after warm-up)",
            t.runs.len()
        );
    }
}

fn summary_json(
    l: &Loaded,
    e: &Engine,
    compile: Duration,
    t: &Timing,
    written: &[(String, String)],
) -> String {
    let (median, min) = stats(&t.runs);
    let (target, backends, threads) = match e {
        Engine::Compiled(m) => {
            (m.report().target.clone(), m.report().backends.clone(), m.threads())
        }
        Engine::Reference { .. } => ("reference".to_string(), Vec::new(), 1),
    };
    serde_json::json!({
        "model": l.path.display().to_string(),
        "engine": if e.compiled().is_some() { "compiled" } else { "reference" },
        "target": target,
        "backends": backends,
        "threads": threads,
        "compile_ms": ms(compile),
        "runs": t.runs.len(),
        "warm": t.warm,
        "median_ms": median,
        "min_ms": min,
        "times_ms": t.runs.iter().map(|&d| ms(d)).collect::<Vec<_>>(),
        "outputs": written.iter().map(|(f, w)| format!("{f} {w}")).collect::<Vec<_>>(),
        "peak_resident_bytes": memory::peak_resident_bytes(),
    })
    .to_string()
}

/// Where loading and compiling went: reading and importing the file, then each pass.
fn print_compile_phases(m: &CompiledModel, import: Duration, compile: Duration) {
    let phases = m.compile_phases().named();
    let passes: Duration = phases.iter().map(|(_, t)| *t).sum();
    let mut line = format!("compile phases: import {:.1} ms", ms(import));
    for (name, t) in phases {
        line.push_str(&format!(", {name} {:.1} ms", ms(t)));
    }
    let rest = compile.saturating_sub(passes);
    line.push_str(&format!(", other {:.1} ms (total compile {:.1} ms)", ms(rest), ms(compile)));
    outln!("{line}");
}

/// The peak resident memory of the whole run, next to what the model needs to be held:
/// the file, the packed weights, the activation arena and the plan's other constants.
fn print_memory(l: &Loaded, m: &CompiledModel) {
    let r = m.report();
    let file = std::fs::metadata(&l.path).map_or(0, |md| md.len());
    let peak = memory::peak_resident_bytes().map_or_else(|| "not available".into(), memory::mib);
    outln!(
        "memory: peak resident {peak} (model file {}, packed weights {}, activation arena {}, \
         other constants {})",
        memory::mib(file),
        memory::mib(r.packed_weight_bytes as u64),
        memory::mib(r.arena_bytes as u64),
        memory::mib(r.constant_bytes as u64),
    );
}

/// Per step: median time, share, what runs it.
fn print_profile(m: &CompiledModel, steps: &[Vec<Duration>]) {
    let medians: Vec<f64> = steps.iter().map(|s| stats(s).0).collect();
    let total: f64 = medians.iter().sum();
    outln!(
        "profile: median per step over {} runs (sum {total:.3} ms)",
        steps.first().map_or(0, Vec::len)
    );
    outln!("  {:>9}  {:>5}  {:<28} {:<34} runs on", "ms", "%", "step", "op");
    for (s, t) in m.report().steps.iter().zip(&medians) {
        let who = match (&s.kernel, &s.backend) {
            (Some(k), Some(b)) => format!("{k} ({b})"),
            (Some(k), None) => k.clone(),
            _ => s.exec.as_str().to_string(),
        };
        let pct = if total > 0.0 { 100.0 * t / total } else { 0.0 };
        outln!("  {t:>9.3}  {pct:>5.1}  {:<28} {:<34} {who}", clip(&s.step, 28), clip(&s.op, 34));
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
