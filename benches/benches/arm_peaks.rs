//! Single-core instruction peaks on Arm, the ceilings the kernels are compared with:
//! `smlal` (int16, 4 MACs per instruction), `sdot` (int8, 16; dotprod CPUs) and `smmla`
//! (int8, 32; i8mm CPUs), each in a loop of 24 independent instructions over 12
//! accumulators (`qnn_benches::peak_arm`). Throughput is in MACs; a loop the CPU lacks is
//! skipped with a line saying so.

#[cfg(target_arch = "aarch64")]
fn peaks(c: &mut criterion::Criterion) {
    use qnn_benches::peak_arm::loops;
    let iters = 10_000u64;
    let mut group = c.benchmark_group("arm_peaks");
    for name in ["smlal", "sdot", "smmla"] {
        if !loops().iter().any(|l| l.0 == name) {
            eprintln!("skipping {name}: this CPU lacks it");
        }
    }
    for (name, f, macs) in loops() {
        group.throughput(criterion::Throughput::Elements((macs * iters as f64) as u64));
        // SAFETY: `loops` returns only the loops whose CPU features are present.
        group.bench_function(name, |b| b.iter(|| unsafe { f(iters) }));
    }
    group.finish();
}

#[cfg(target_arch = "aarch64")]
criterion::criterion_group!(benches, peaks);
#[cfg(target_arch = "aarch64")]
criterion::criterion_main!(benches);

#[cfg(not(target_arch = "aarch64"))]
fn main() {
    eprintln!("arm_peaks measures Arm instructions; this is not an aarch64 machine");
}
