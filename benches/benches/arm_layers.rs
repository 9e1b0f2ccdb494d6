//! The layer suite (`fixtures/layers.json`) on each Arm backend × lowering, 1 and 2 threads,
//! on the kernels directly (`qnn-kernels` plans, as `x86_layers` does for x86): `arm-neon`
//! int16 (`smlal`) against `arm-neon` int8 (exact `smull` + `sadalp`) and `arm-dotprod` int8
//! (`sdot`, `smmla` where the CPU has i8mm). One binary for every 64-bit Arm board (Raspberry
//! Pi 3/4/5, Graviton): a backend whose probe fails on this CPU is skipped with the reason.
//! The int8 problems take s8 data (the suite's u8 shifted by −128), as no Arm kernel is
//! u8 × s8. Throughput is in MACs. Build for a board with
//! `cargo xtask bench --target aarch64-unknown-linux-gnu --no-run`.

#[cfg(target_arch = "aarch64")]
mod arm {
    use backend_arm_dotprod as _;
    use backend_arm_neon as _;
    use criterion::{BenchmarkId, Criterion, Throughput};
    use qnn_benches::suite::{Lowering, layers, prepare};
    use qnn_kernels::ThreadPool;

    const CONFIGS: [(&str, Lowering); 3] = [
        ("arm-neon", Lowering::Int16),
        ("arm-neon", Lowering::Int8),
        ("arm-dotprod", Lowering::Int8),
    ];

    pub fn bench(c: &mut Criterion) {
        let pools = [ThreadPool::new(1), ThreadPool::new(2)];
        for layer in layers().expect("the suite parses") {
            let mut group = c.benchmark_group(&layer.name);
            group.throughput(Throughput::Elements(layer.macs));
            for (backend, lowering) in CONFIGS {
                let Some(d) = qnn_ir::backend::registry::backend(backend) else { continue };
                if let Err(why) = d.probe() {
                    eprintln!("skipping {backend}: {why}");
                    continue;
                }
                let mut p = match prepare(&layer, backend, lowering) {
                    Ok(p) => p,
                    Err(e) => {
                        eprintln!(
                            "skipping {} on {backend} {}: {e:#}",
                            layer.name,
                            lowering.name()
                        );
                        continue;
                    }
                };
                for pool in &pools {
                    let id = BenchmarkId::new(
                        format!("{backend}-{}-{}", lowering.name(), p.kernel),
                        format!("{}T", pool.threads()),
                    );
                    group.bench_function(id, |b| b.iter(|| p.run(pool).expect("runs")));
                }
            }
            group.finish();
        }
    }
}

#[cfg(target_arch = "aarch64")]
criterion::criterion_group!(benches, arm::bench);
#[cfg(target_arch = "aarch64")]
criterion::criterion_main!(benches);

#[cfg(not(target_arch = "aarch64"))]
fn main() {
    eprintln!("arm_layers times the Arm backends; this is not an aarch64 machine");
}
