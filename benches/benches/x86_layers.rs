//! The layer suite (`fixtures/layers.json`) on each x86 backend × lowering, 1 and 2 threads:
//! `x86-vnni` int8 (u8×s8 `vpdpbusd`) against `x86-avx2` int16 (`vpmaddwd`) and `x86-avx2`
//! int8 (exact, widened to int16), on the same layers, inputs and weights. Throughput is in
//! MACs (criterion's "elements"). ONNX Runtime is timed side by side by the `layer_suite`
//! binary (`cargo run --release -p qnn-benches --bin layer_suite -- --ort`).

#[cfg(target_arch = "x86_64")]
mod x86 {
    use backend_x86_avx2 as _;
    use backend_x86_vnni as _;
    use criterion::{BenchmarkId, Criterion, Throughput};
    use qnn_benches::suite::{Lowering, layers, prepare};
    use qnn_kernels::ThreadPool;

    const CONFIGS: [(&str, Lowering); 3] =
        [("x86-vnni", Lowering::Int8), ("x86-avx2", Lowering::Int16), ("x86-avx2", Lowering::Int8)];

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
                let mut p = prepare(&layer, backend, lowering).expect("the layer plans");
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

#[cfg(target_arch = "x86_64")]
criterion::criterion_group!(benches, x86::bench);
#[cfg(target_arch = "x86_64")]
criterion::criterion_main!(benches);

#[cfg(not(target_arch = "x86_64"))]
fn main() {}
