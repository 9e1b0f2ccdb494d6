//! The two whole models (MobileNetV2-style and ResNet-style, ONNX Runtime's QOperator
//! quantization, per-channel weights) × every backend usable on this machine × both
//! lowerings forced for every conv/dense, and compiled for the host under each policy
//! (Capability, CostModel, Measured), 1 thread. Compares the lowerings on each backend, and
//! what each policy's per-op choices give on the whole network. Throughput is in the
//! models' conv/dense MACs.
//!
//! ```sh
//! cargo bench -p qnn-benches --bench models [-- FILTER]
//! ```

#[cfg(target_arch = "aarch64")]
use backend_arm_dotprod as _;
#[cfg(target_arch = "aarch64")]
use backend_arm_neon as _;
#[cfg(target_arch = "x86_64")]
use backend_x86_avx2 as _;
#[cfg(target_arch = "x86_64")]
use backend_x86_vnni as _;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qnn_benches::models::whole_models;
use qnn_legalize::{Capability, CostModel, Lowering, LoweringPolicy, Target};
use qnn_runtime::{CompileOptions, Compiler, Workspace};
use qnn_tune::Measured;

fn models(c: &mut Criterion) {
    let host = Target::host();
    let policies: Vec<(&str, Arc<dyn LoweringPolicy>)> = vec![
        ("capability", Arc::new(Capability)),
        ("cost-model", Arc::new(CostModel::new())),
        ("measured", Arc::new(Measured::new())),
    ];
    for m in whole_models().expect("the models import") {
        let mut group = c.benchmark_group(m.name);
        group.throughput(Throughput::Elements(m.macs));
        group.sample_size(20).warm_up_time(Duration::from_millis(500));
        let mut variants: Vec<(String, CompileOptions)> = Vec::new();
        for (name, p) in &policies {
            let mut opts = CompileOptions::new().threads(1);
            opts.policy = p.clone();
            variants.push((format!("policy/{name}"), opts));
        }
        for d in host.backends() {
            for l in Lowering::ALL {
                // Capability underneath: the cost model refuses a forced class without a figure.
                let opts = CompileOptions::new()
                    .threads(1)
                    .policy(Capability)
                    .backend(Some(d.name))
                    .lowering(Some(l));
                variants.push((format!("{}/{l}", d.name), opts));
            }
        }
        for (id, opts) in variants {
            let forced = opts.backend.clone();
            let model = Compiler::new(opts).compile(&m.graph).expect("compiles");
            let elsewhere = model
                .report()
                .steps
                .iter()
                .find(|s| s.lowering.is_some() && forced.is_some() && s.backend != forced);
            if let Some(s) = elsewhere {
                eprintln!("{}: skipping {id}: {} ran on {:?}", m.name, s.step, s.backend);
                continue;
            }
            let mut ws = Workspace::default();
            let x = std::slice::from_ref(&m.input);
            group.bench_function(id, |b| b.iter(|| model.run_with(&mut ws, x).expect("runs")));
        }
        group.finish();
    }
}

criterion_group!(benches, models);
criterion_main!(benches);
