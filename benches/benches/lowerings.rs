//! The layer suite (`fixtures/layers.json`) × every backend usable on this machine × both
//! lowerings, through the legalizer and runtime: each layer's single-op QNN model compiled
//! with the backend and the lowering forced (the runtime plans the backend's cheapest
//! applicable kernel), 1 thread. Compares `int8-terms` against `int16-upcast` on the same
//! backend, and the backends against each other. Throughput is in MACs (criterion's
//! "elements"). A lowering without a kernel of the backend is skipped, with a line saying so.
//!
//! ```sh
//! cargo bench -p qnn-benches --bench lowerings [-- FILTER]
//! ```

#[cfg(target_arch = "aarch64")]
use backend_arm_dotprod as _;
#[cfg(target_arch = "aarch64")]
use backend_arm_neon as _;
#[cfg(target_arch = "x86_64")]
use backend_x86_avx2 as _;
#[cfg(target_arch = "x86_64")]
use backend_x86_vnni as _;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use qnn_benches::suite::layers;
use qnn_legalize::{Lowering, Target};
use qnn_tune::measure::prepare;

fn lowerings(c: &mut Criterion) {
    let host = Target::host();
    for layer in layers().expect("the suite parses") {
        let sig = layer.signature();
        let mut group = c.benchmark_group(&layer.name);
        group.throughput(Throughput::Elements(layer.macs));
        group.sample_size(20).warm_up_time(Duration::from_millis(500));
        for d in host.backends() {
            for l in Lowering::ALL {
                let mut p = prepare(&sig, d.name, l, 1).expect("the layer compiles");
                if p.ran_on != d.name {
                    eprintln!(
                        "{}: {} has no {l} kernel (it would run on {})",
                        layer.name, d.name, p.ran_on
                    );
                    continue;
                }
                let id = BenchmarkId::new(format!("{}/{l}", d.name), &p.kernel);
                group.bench_function(id, |b| b.iter(|| p.runnable.run_once().expect("runs")));
            }
        }
        group.finish();
    }
}

criterion_group!(benches, lowerings);
criterion_main!(benches);
