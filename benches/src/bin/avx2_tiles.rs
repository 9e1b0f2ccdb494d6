//! Every `x86-avx2` conv kernel on every layer of the suite it accepts, 1 thread, timed
//! round-robin in one run (medians of alternating runs, minimum in brackets): the
//! measurement behind the backend's tile choices and cost figures. On a shared machine, runs
//! that waited for a core (Linux `/proc/thread-self/schedstat`, more than 2 % of their
//! time) are set aside, as `qnn-tune` does.
//!
//! ```sh
//! cargo run --release -p qnn-benches --bin avx2_tiles -- [--layers a,b] [--kernels x,y] [--rounds N]
//!     [--extra HxWxC:M:K:S[:G],…]   # more layers: input H×W×C, M outputs, K×K kernel, stride S, G groups
//! ```

#[cfg(target_arch = "x86_64")]
fn main() -> anyhow::Result<()> {
    use std::time::Instant;

    use anyhow::Context;
    use backend_x86_avx2 as _;
    use qnn_benches::suite::{Layer, Lowering, layers, prepare_on};
    use qnn_ir::backend::registry;
    use qnn_kernels::ConvGeometry;
    use qnn_kernels::ThreadPool;

    let mut only_layers: Option<Vec<String>> = None;
    let mut only_kernels: Option<Vec<String>> = None;
    let mut rounds = 40usize;
    let mut extra: Vec<Layer> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut v = || it.next().context("a value");
        match a.as_str() {
            "--layers" => only_layers = Some(v()?.split(',').map(String::from).collect()),
            "--kernels" => only_kernels = Some(v()?.split(',').map(String::from).collect()),
            "--rounds" => rounds = v()?.parse()?,
            "--extra" => {
                for spec in v()?.split(',') {
                    let f: Vec<usize> = spec
                        .split([':', 'x'])
                        .map(|x| x.parse().context("--extra HxWxC:M:K:S[:G]"))
                        .collect::<anyhow::Result<_>>()?;
                    anyhow::ensure!(f.len() >= 6, "--extra HxWxC:M:K:S[:G]");
                    let (k, st) = (f[4], f[5]);
                    let geometry = ConvGeometry {
                        batch: 1,
                        in_h: f[0],
                        in_w: f[1],
                        in_c: f[2],
                        out_c: f[3],
                        kernel: [k, k],
                        strides: [st, st],
                        padding: [k / 2; 4],
                        dilation: [1, 1],
                        groups: f.get(6).copied().unwrap_or(1),
                    };
                    geometry.check().map_err(anyhow::Error::msg)?;
                    let macs = geometry.macs();
                    extra.push(Layer { name: spec.to_string(), geometry, macs, dense: false });
                }
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let pool = ThreadPool::new(1);
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load().trim());
    println!("| layer | MMAC | lowering | kernel | ms median (min) | GMAC/s |");
    println!("|---|---:|---|---|---:|---:|");
    let suite: Vec<Layer> = layers()?
        .into_iter()
        .filter(|l| match &only_layers {
            Some(names) => names.contains(&l.name),
            None => extra.is_empty(),
        })
        .collect();
    for layer in suite.into_iter().chain(extra) {
        let mut runs = Vec::new();
        for lowering in [Lowering::Int16, Lowering::Int8] {
            for k in registry::kernels_of("x86-avx2") {
                if only_kernels.as_ref().is_some_and(|l| !l.iter().any(|n| k.name.contains(n))) {
                    continue;
                }
                if let Ok(p) = prepare_on(&layer, "x86-avx2", lowering, vec![k]) {
                    runs.push((lowering, p, Vec::new()));
                }
            }
        }
        for (_, p, _) in runs.iter_mut() {
            p.run(&pool)?;
        }
        // Round-robin: every kernel sees the same machine state.
        let per_run = 0.002;
        for _ in 0..rounds {
            for (_, p, times) in runs.iter_mut() {
                let t = Instant::now();
                let wait = run_queue_wait_ns();
                let mut n = 0;
                while t.elapsed().as_secs_f64() < per_run || n == 0 {
                    p.run(&pool)?;
                    n += 1;
                }
                let secs = t.elapsed().as_secs_f64();
                let waited = match (wait, run_queue_wait_ns()) {
                    (Some(a), Some(b)) => (b - a) as f64 * 1e-9 > 0.02 * secs,
                    _ => false,
                };
                if !waited || times.len() < 3 {
                    times.push(secs / n as f64);
                }
            }
        }
        for (lowering, p, times) in runs.iter_mut() {
            times.sort_by(f64::total_cmp);
            let (med, min) = (times[times.len() / 2], times[0]);
            println!(
                "| {} | {:.1} | {} | {} | {:.3} ({:.3}) | {:.0} |",
                layer.name,
                layer.macs as f64 / 1e6,
                lowering.name(),
                p.kernel,
                med * 1e3,
                min * 1e3,
                layer.macs as f64 / med / 1e9
            );
        }
    }
    println!("load average after: {}", load().trim());
    Ok(())
}

/// Nanoseconds this thread has waited on a run queue, where Linux reports it.
#[cfg(target_arch = "x86_64")]
fn run_queue_wait_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    eprintln!("avx2_tiles times the x86-avx2 kernels; this is not an x86-64 machine");
}
