//! The layer suite, timed on each x86 backend × lowering at 1 and 2 threads, side by side
//! with ONNX Runtime in the same run, as one markdown table.
//!
//! ```sh
//! cargo run --release -p qnn-benches --bin layer_suite -- [--ort] [--layers a,b] [--min-time S]
//! ```
//!
//! First the single-core instruction peaks are measured (`vpdpbusd` zmm/ymm, `vpmaddwd`
//! ymm); "% peak" relates a 1-thread time to the peak of the instruction its kernel uses.
//! With `--ort`, each layer is timed by the peers' `bench_ort.py` (ONNX Runtime, NCHW and
//! NHWC models, 1 and 2 threads) right before qnn times it, so both see the same machine
//! state. `--peers DIR` (default `$QNN_PEERS_DIR`, else `../shared/peers`) holds the
//! script; `--python` (default `$PEERS/venv/bin/python`, `PEERS` = `~/.cache/qnn-peers`)
//! runs it. Times are medians (minimum in brackets) over ≥ 30 runs and ≥ `--min-time`
//! seconds (default 0.5); GMAC/s and the ratios to ORT use medians, "% peak" the minimum
//! against the peak (best against best).

#[cfg(target_arch = "x86_64")]
fn main() -> anyhow::Result<()> {
    x86::main()
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    eprintln!("layer_suite times the x86 backends; this is not an x86-64 machine");
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::time::Instant;

    use anyhow::{Context, bail};
    use backend_x86_avx2 as _;
    use backend_x86_vnni as _;
    use qnn_benches::peak::{Peaks, measure_peaks};
    use qnn_benches::suite::{Layer, Lowering, layers, prepare};
    use qnn_kernels::ThreadPool;

    const CONFIGS: [(&str, Lowering); 3] =
        [("x86-vnni", Lowering::Int8), ("x86-avx2", Lowering::Int16), ("x86-avx2", Lowering::Int8)];

    struct Args {
        ort: bool,
        layers: Option<Vec<String>>,
        min_time: f64,
        peers: PathBuf,
        python: PathBuf,
        configs: Vec<(String, Lowering)>,
    }

    fn args() -> anyhow::Result<Args> {
        let home = std::env::var("HOME").unwrap_or_default();
        let peers_cache = std::env::var("PEERS").unwrap_or(format!("{home}/.cache/qnn-peers"));
        let mut a = Args {
            ort: false,
            layers: None,
            min_time: 0.5,
            peers: std::env::var("QNN_PEERS_DIR").unwrap_or("../shared/peers".into()).into(),
            python: format!("{peers_cache}/venv/bin/python").into(),
            configs: CONFIGS.iter().map(|(b, l)| (b.to_string(), *l)).collect(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--ort" => a.ort = true,
                "--layers" => a.layers = Some(value()?.split(',').map(String::from).collect()),
                "--min-time" => a.min_time = value()?.parse()?,
                "--peers" => a.peers = value()?.into(),
                "--python" => a.python = value()?.into(),
                "--configs" => {
                    a.configs = value()?
                        .split(',')
                        .map(|c| {
                            let (b, l) =
                                c.split_once(':').context("--configs BACKEND:int8|int16")?;
                            let l = if l == "int16" { Lowering::Int16 } else { Lowering::Int8 };
                            Ok((b.to_string(), l))
                        })
                        .collect::<anyhow::Result<_>>()?
                }
                "--bench" => {} // cargo bench passes it
                other => bail!("unknown argument {other}"),
            }
        }
        Ok(a)
    }

    /// (median, minimum) seconds of `f` over ≥ 30 runs and ≥ `min_time` seconds, after 5
    /// warm-up runs. On a shared machine the minimum is the least disturbed figure.
    fn time(
        min_time: f64,
        mut f: impl FnMut() -> anyhow::Result<()>,
    ) -> anyhow::Result<(f64, f64)> {
        for _ in 0..5 {
            f()?;
        }
        let mut times = Vec::new();
        let start = Instant::now();
        while times.len() < 30 || (start.elapsed().as_secs_f64() < min_time && times.len() < 20_000)
        {
            let t = Instant::now();
            f()?;
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        Ok((times[times.len() / 2], times[0]))
    }

    /// ORT (median, min) ms by (layout, threads) for one layer.
    fn ort(a: &Args, layer: &Layer) -> anyhow::Result<BTreeMap<(String, usize), (f64, f64)>> {
        let out = std::env::temp_dir().join(format!("qnn-ort-{}.json", std::process::id()));
        let status = std::process::Command::new(&a.python)
            .arg(a.peers.join("bench_ort.py"))
            .args(["--threads", "1,2", "--no-models", "--runs", "30"])
            .args(["--min-time", &a.min_time.to_string(), "--layers", &layer.name])
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .with_context(|| format!("running {}", a.python.display()))?;
        if !status.success() {
            bail!("bench_ort.py failed for {}", layer.name);
        }
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
        let _ = std::fs::remove_file(&out);
        let mut m = BTreeMap::new();
        for r in doc["layers"].as_array().context("ORT results")? {
            let layout = r["layout"].as_str().unwrap_or("?").to_string();
            let threads = r["threads"].as_u64().unwrap_or(0) as usize;
            let med = r["median_ms"].as_f64().unwrap_or(f64::NAN);
            m.insert((layout, threads), (med, r["min_ms"].as_f64().unwrap_or(med)));
        }
        Ok(m)
    }

    /// The peak (GMAC/s) of the instruction a kernel's inner loop uses.
    fn peak_of(kernel: &str, peaks: &Peaks) -> Option<f64> {
        if kernel.starts_with("vnni_") {
            peaks.vpdpbusd_zmm
        } else if kernel.starts_with("avxvnni_") {
            peaks.vpdpbusd_ymm
        } else if kernel.starts_with("avx2_") {
            peaks.vpmaddwd_ymm
        } else {
            None
        }
    }

    pub fn main() -> anyhow::Result<()> {
        let a = args()?;
        // Measured again after the suite: on a shared machine a peak can only look lower, so
        // two figures far apart say the run was disturbed.
        let peaks = measure_peaks();
        let show = |p: Option<f64>| p.map_or("n/a".to_string(), |v| format!("{v:.0}"));
        println!(
            "Single-core peaks, GMAC/s: vpdpbusd zmm {}, vpdpbusd ymm {}, vpmaddwd+vpaddd ymm {}\n",
            show(peaks.vpdpbusd_zmm),
            show(peaks.vpdpbusd_ymm),
            show(peaks.vpmaddwd_ymm)
        );
        let pools = [ThreadPool::new(1), ThreadPool::new(2)];
        let mut suite = layers()?;
        if let Some(keep) = &a.layers {
            suite.retain(|l| keep.contains(&l.name));
        }
        println!(
            "| layer | MMAC | backend · lowering | kernel | 1T ms | 1T GMAC/s | % peak | 2T ms | 2T/1T | ORT 1T ms nchw / nhwc | ORT 2T ms nchw / nhwc | × ORT 1T | × ORT 2T |"
        );
        println!("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut ratios: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for layer in &suite {
            let ort = if a.ort { Some(ort(&a, layer)?) } else { None };
            for (backend, lowering) in &a.configs {
                let Some(d) = qnn_ir::backend::registry::backend(backend) else { continue };
                if d.probe().is_err() {
                    continue;
                }
                let mut p = prepare(layer, backend, *lowering)?;
                let mut ms = [(0f64, 0f64); 2];
                for (i, pool) in pools.iter().enumerate() {
                    let (med, min) = time(a.min_time, || p.run(pool))?;
                    ms[i] = (1e3 * med, 1e3 * min);
                }
                let gmacs = |ms: f64| layer.macs as f64 / (ms * 1e-3) / 1e9;
                // Best against best: the fastest run against the instruction's peak.
                let pct = peak_of(p.kernel, &peaks)
                    .map_or("–".into(), |pk| format!("{:.0} %", 100.0 * gmacs(ms[0].1) / pk));
                let (ort_cells, vs) = match &ort {
                    Some(o) => {
                        let get = |l: &str, t| o.get(&(l.to_string(), t)).copied();
                        // The faster ORT layout, median against median.
                        let best = |t| {
                            [get("nchw", t), get("nhwc", t)]
                                .into_iter()
                                .flatten()
                                .map(|(med, _)| med)
                                .fold(f64::INFINITY, f64::min)
                        };
                        let cell = |t| {
                            let f = |v: Option<(f64, f64)>| {
                                v.map_or("–".into(), |(med, min)| format!("{med:.3} ({min:.3})"))
                            };
                            format!("{} / {}", f(get("nchw", t)), f(get("nhwc", t)))
                        };
                        let r = [best(1) / ms[0].0, best(2) / ms[1].0];
                        let key = format!("{backend} {}", lowering.name());
                        ratios.entry(format!("{key} 1T")).or_default().push(r[0]);
                        ratios.entry(format!("{key} 2T")).or_default().push(r[1]);
                        ([cell(1), cell(2)], [format!("{:.2}", r[0]), format!("{:.2}", r[1])])
                    }
                    None => (["–".into(), "–".into()], ["–".into(), "–".into()]),
                };
                println!(
                    "| {} | {:.1} | {backend} · {} | {} | {:.3} ({:.3}) | {:.0} | {pct} | {:.3} ({:.3}) | {:.2} | {} | {} | {} | {} |",
                    layer.name,
                    layer.macs as f64 / 1e6,
                    lowering.name(),
                    p.kernel,
                    ms[0].0,
                    ms[0].1,
                    gmacs(ms[0].0),
                    ms[1].0,
                    ms[1].1,
                    ms[0].0 / ms[1].0,
                    ort_cells[0],
                    ort_cells[1],
                    vs[0],
                    vs[1],
                );
            }
        }
        let after = measure_peaks();
        println!(
            "\nPeaks after the suite, GMAC/s: vpdpbusd zmm {}, vpdpbusd ymm {}, vpmaddwd ymm {} (the % peak column used the ones above)",
            show(after.vpdpbusd_zmm),
            show(after.vpdpbusd_ymm),
            show(after.vpmaddwd_ymm)
        );
        if !ratios.is_empty() {
            println!("\nGeometric mean of the speed-up over the faster ORT layout:");
            for (k, v) in ratios {
                let g = (v.iter().map(|r| r.ln()).sum::<f64>() / v.len() as f64).exp();
                let worst = v.iter().copied().fold(f64::INFINITY, f64::min);
                println!("  {k}: {g:.2}× (slowest row {worst:.2}×)");
            }
        }
        Ok(())
    }
}
