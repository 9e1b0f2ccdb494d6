//! Quick whole-model latency (median of N runs) of the benchmark models, per thread count
//! and forced backend — a sanity check beside the criterion benchmark (`cargo bench -p
//! qnn-runtime`), printing where the time goes by step.
//!
//! ```sh
//! cargo run --release -p qnn-runtime --example latency [mobilenetv2|resnet] [runs]
//! cargo run --release -p qnn-runtime --example latency MODEL.onnx INPUT.npy [runs]
//! ```
//!
//! `QNN_STEPS=1` also prints every step's time.

#[path = "../benches/common/zoo.rs"]
mod zoo;

use std::time::Instant;

use qnn_runtime::{CompileOptions, Compiler, Workspace};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("mobilenetv2", String::as_str);
    let onnx = which.ends_with(".onnx");
    let runs: usize = args.get(if onnx { 3 } else { 2 }).and_then(|s| s.parse().ok()).unwrap_or(50);
    let (g, x) = match which {
        _ if onnx => {
            let model = qnn_onnx::Model::from_path(which)?;
            let g = model.import(&qnn_onnx::ImportOptions::default())?.graph;
            (g, qnn_npy::read(args.get(2).ok_or("an input .npy")?)?)
        }
        "resnet" => zoo::resnet(),
        _ => zoo::mobilenetv2(),
    };
    let want = if std::env::var("QNN_CHECK").is_ok() {
        qnn_ir::reference::run(&g, std::slice::from_ref(&x)).ok()
    } else {
        None
    };
    for backend in [None, Some("x86-avx2")] {
        for threads in [1, 2] {
            let opts = CompileOptions::new().threads(threads).backend(backend);
            let t0 = Instant::now();
            let m = Compiler::new(opts).compile(&g)?;
            let compile = t0.elapsed();
            let mut ws = Workspace::default();
            let out = m.run_with(&mut ws, std::slice::from_ref(&x))?;
            if let Some(w) = &want {
                assert_eq!(&out, w, "compiled ≠ reference");
            }
            let mut times: Vec<f64> = (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    m.run_with(&mut ws, std::slice::from_ref(&x))
                        .map(|_| t.elapsed().as_secs_f64() * 1e3)
                })
                .collect::<Result<_, _>>()?;
            times.sort_by(f64::total_cmp);
            println!(
                "{which} backend {:<9} threads {threads}: median {:.3} ms (min {:.3}), compile {:.0} ms, arena {} KiB",
                backend.unwrap_or("host"),
                times[times.len() / 2],
                times[0],
                compile.as_secs_f64() * 1e3,
                m.arena_bytes() / 1024
            );
        }
    }
    // Where the time goes (1 thread, host backends): per step, the minimum over the runs.
    let m = Compiler::new(CompileOptions::new().threads(1)).compile(&g)?;
    let mut ws = Workspace::default();
    let mut best: Vec<f64> = vec![f64::MAX; m.report().steps.len()];
    for _ in 0..runs {
        let (_, t) = m.run_profiled(&mut ws, std::slice::from_ref(&x))?;
        for (b, d) in best.iter_mut().zip(t) {
            *b = b.min(d.as_secs_f64() * 1e6);
        }
    }
    let mut by_kind: std::collections::BTreeMap<String, f64> = Default::default();
    for (s, us) in m.report().steps.iter().zip(&best) {
        let kind = match (&s.kernel, s.op.split(' ').next()) {
            (Some(k), _) => k.clone(),
            (None, Some(op)) => op.to_string(),
            _ => String::new(),
        };
        *by_kind.entry(kind).or_default() += us;
        if std::env::var("QNN_STEPS").is_ok() {
            println!("  {:>9.1} µs  {}  {}", us, s.step, s.op);
        }
    }
    println!("sum of per-step minima {:.3} ms; by kernel/op:", best.iter().sum::<f64>() / 1e3);
    for (k, us) in by_kind {
        println!("  {us:>9.1} µs  {k}");
    }
    Ok(())
}
