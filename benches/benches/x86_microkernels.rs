//! Instruction peaks against microkernels, one core: the `vpdpbusd` (zmm, ymm) and
//! `vpmaddwd`+`vpaddd` loops of 12 independent accumulators, then every registered x86 GEMM
//! microkernel on one tile with L1-resident operands (9 taps × 64 channels, raw i32 output
//! and the fused u8 epilogue), so a kernel's % of its instruction peak can be read off
//! apart from memory and the frame. Throughput in MACs.

#[cfg(target_arch = "x86_64")]
mod x86 {
    use backend_x86_avx2 as _;
    use backend_x86_vnni as _;
    use criterion::{BenchmarkId, Criterion, Throughput};
    use qnn_ir::backend::{IndirectGemmArgs, KernelImpl, TileOutput, registry};
    use qnn_ir::{DType, RequantScale};
    use qnn_kernels::{AlignedBytes, EpilogueSpec, PreparedEpilogue};

    pub fn bench(c: &mut Criterion) {
        let mut peaks = c.benchmark_group("peak");
        for (name, f, macs) in qnn_benches::peak::loops() {
            let iters = 10_000u64;
            peaks.throughput(Throughput::Elements((macs * iters as f64) as u64));
            // SAFETY: `loops` lists only loops whose features the CPU has.
            peaks.bench_function(name, |b| b.iter(|| unsafe { f(iters) }));
        }
        peaks.finish();

        let (taps, kc) = (9, 64);
        let mut group = c.benchmark_group("microkernel_9x64");
        for entry in registry::kernels() {
            let KernelImpl::IndirectGemm(k) = entry.imp else { continue };
            if !entry.backend.starts_with("x86") || entry.probe().is_err() {
                continue;
            }
            let esize = k.packed.0.size_bytes();
            let data = AlignedBytes::zeroed(taps * k.mr * kc * esize + 64);
            let panel = AlignedBytes::zeroed(taps * kc * k.nr * esize);
            let ptrs: Vec<*const u8> =
                (0..taps * k.mr).map(|i| data.as_slice()[i * kc * esize..].as_ptr()).collect();
            let spec = EpilogueSpec {
                bias: vec![7],
                t3_zero_point: None,
                requant: Some(RequantScale::Float { mults: vec![0.001] }),
                input_zero_point: 0,
                out_dtype: DType::U8,
                zero_point: 128,
                clamp: None,
            };
            let prepared = PreparedEpilogue::new(&spec, k.nr, k.nr).expect("valid epilogue");
            let epi = prepared.view(0);
            let mut raw = vec![0i32; k.mr * k.nr];
            let mut out = vec![0u8; k.mr * k.nr];
            group.throughput(Throughput::Elements((taps * kc * k.mr * k.nr) as u64));
            for fused in [false, true] {
                let id = BenchmarkId::new(entry.name, if fused { "fused-u8" } else { "raw-i32" });
                group.bench_function(id, |b| {
                    b.iter(|| {
                        let args = IndirectGemmArgs {
                            taps,
                            kc,
                            a: ptrs.as_ptr(),
                            b: panel.as_slice().as_ptr(),
                            tiles: 1,
                            panel_stride: 0,
                            m: k.mr,
                            n: k.nr,
                            out: if fused {
                                TileOutput::Fused {
                                    epilogue: &epi,
                                    row_sums: None,
                                    out: out.as_mut_ptr(),
                                    row_stride: k.nr,
                                }
                            } else {
                                TileOutput::Raw { c: raw.as_mut_ptr(), row_stride: k.nr }
                            },
                        };
                        // SAFETY: buffers sized for the contract; the probe passed.
                        unsafe { (k.run)(&args) }
                    })
                });
            }
        }
        group.finish();
    }
}

#[cfg(target_arch = "x86_64")]
criterion::criterion_group!(benches, x86::bench);
#[cfg(target_arch = "x86_64")]
criterion::criterion_main!(benches);

#[cfg(not(target_arch = "x86_64"))]
fn main() {}
