//! Throughput of one GEMM microkernel on L1-resident operands, against the instruction
//! peak: how close the register tile itself gets, apart from memory and the frame.
//!
//! ```sh
//! cargo run --release -p qnn-benches --bin microkernel -- [KERNEL] [TAPS] [KC] [raw|fused]
//! ```

#[cfg(target_arch = "x86_64")]
fn main() -> anyhow::Result<()> {
    use std::time::Instant;

    use anyhow::Context;
    use backend_x86_avx2 as _;
    use backend_x86_vnni as _;
    use qnn_ir::backend::{IndirectGemmArgs, KernelImpl, TileOutput, registry};

    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("vnni_gemm_u8s8_6x64", |s| s.as_str());
    let taps: usize = args.get(2).map_or(Ok(9), |s| s.parse())?;
    let kc: usize = args.get(3).map_or(Ok(64), |s| s.parse())?;
    let entry =
        registry::kernels().into_iter().find(|k| k.name == name).context("no such kernel")?;
    entry.probe().map_err(anyhow::Error::msg)?;
    let KernelImpl::IndirectGemm(k) = entry.imp else { anyhow::bail!("not an indirect GEMM") };
    let esize = k.packed.0.size_bytes();
    let data = qnn_kernels::AlignedBytes::zeroed(taps * k.mr * kc * esize + 64);
    let panel = qnn_kernels::AlignedBytes::zeroed(taps * kc * k.nr * esize);
    let ptrs: Vec<*const u8> =
        (0..taps * k.mr).map(|i| data.as_slice()[i * kc * esize..].as_ptr()).collect();
    let mut c = vec![0i32; k.mr * k.nr];
    let fused = args.get(4).is_some_and(|s| s == "fused");
    let spec = qnn_kernels::EpilogueSpec {
        bias: vec![7],
        t3_zero_point: None,
        requant: Some(qnn_ir::RequantScale::Float { mults: vec![0.001] }),
        input_zero_point: 0,
        out_dtype: qnn_ir::DType::U8,
        zero_point: 128,
        clamp: None,
    };
    let prepared = qnn_kernels::PreparedEpilogue::new(&spec, k.nr, k.nr)?;
    let epi = prepared.view(0);
    let mut out = vec![0u8; k.mr * k.nr];
    let macs = (taps * kc * k.mr * k.nr) as f64;
    let mut best = 0f64;
    for _ in 0..7 {
        let iters = (2e9 / macs) as usize + 1;
        let t = Instant::now();
        for _ in 0..iters {
            let a = IndirectGemmArgs {
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
                    TileOutput::Raw { c: c.as_mut_ptr(), row_stride: k.nr }
                },
            };
            // SAFETY: buffers sized for the contract; the probe passed.
            unsafe { (k.run)(&a) };
        }
        best = best.max(iters as f64 * macs / t.elapsed().as_secs_f64() / 1e9);
    }
    let peaks = qnn_benches::peak::measure_peaks();
    let kind = if fused { "fused u8 epilogue" } else { "raw i32" };
    println!("{name}: taps {taps} kc {kc}, {kind}: {best:.0} GMAC/s (peaks {peaks:?})");
    Ok(())
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {}
