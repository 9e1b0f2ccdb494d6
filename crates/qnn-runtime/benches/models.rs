//! Whole-model latency, batch 1: the MobileNetV2-style and ResNet-style networks of the
//! peer models (see `common/zoo.rs`), compiled for the host (all backends) and with
//! `x86-avx2` forced (an old Intel machine), on one and two threads. Compare with ONNX
//! Runtime's figures for the same networks (`peers/bench_ort.py`, run beside this).
//!
//! ```sh
//! cargo bench -p qnn-runtime --bench models
//! ```

#[path = "common/zoo.rs"]
mod zoo;

use criterion::{Criterion, criterion_group, criterion_main};
use qnn_runtime::{CompileOptions, Compiler, Workspace, registered_backends};

fn models(c: &mut Criterion) {
    let mut group = c.benchmark_group("model");
    group.sample_size(30);
    for (name, (g, x)) in [("mobilenetv2", zoo::mobilenetv2()), ("resnet", zoo::resnet())] {
        for backend in [None, Some("x86-avx2")] {
            if backend.is_some_and(|b| !registered_backends().contains(&b)) {
                continue;
            }
            for threads in [1, 2] {
                let opts = CompileOptions::new().threads(threads).backend(backend);
                let Ok(m) = Compiler::new(opts).compile(&g) else { continue };
                let mut ws = Workspace::default();
                let id = format!("{name}/{}/{threads}t", backend.unwrap_or("host"));
                group.bench_function(id, |b| {
                    b.iter(|| m.run_with(&mut ws, std::slice::from_ref(&x)).unwrap())
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, models);
criterion_main!(benches);
