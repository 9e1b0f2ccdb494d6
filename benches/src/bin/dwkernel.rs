//! Throughput of one depthwise microkernel on one L1-resident row (3×3 taps): ns per
//! block of 64 outputs, to separate the kernel from the frame.
//!
//! ```sh
//! cargo run --release -p qnn-benches --bin dwkernel -- [KERNEL] [CHANNELS] [OW] [STRIDE]
//! ```

#[cfg(target_arch = "x86_64")]
fn main() -> anyhow::Result<()> {
    use std::time::Instant;

    use anyhow::Context;
    use backend_x86_avx2 as _;
    use backend_x86_vnni as _;
    use qnn_ir::backend::{DepthwiseArgs, KernelImpl, registry};

    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("vnni_dw_u8s8_64", |s| s.as_str());
    let c: usize = args.get(2).map_or(Ok(32), |s| s.parse())?;
    let ow: usize = args.get(3).map_or(Ok(112), |s| s.parse())?;
    let sw: usize = args.get(4).map_or(Ok(1), |s| s.parse())?;
    let entry =
        registry::kernels().into_iter().find(|k| k.name == name).context("no such kernel")?;
    entry.probe().map_err(anyhow::Error::msg)?;
    let KernelImpl::Depthwise(k) = entry.imp else { anyhow::bail!("not a depthwise kernel") };
    let esize = k.packed.0.size_bytes();
    let row_elems = ((ow - 1) * sw + 3) * c + k.block;
    let rows: Vec<qnn_kernels::AlignedBytes> =
        (0..3).map(|_| qnn_kernels::AlignedBytes::zeroed(row_elems * esize)).collect();
    let ptrs: Vec<*const u8> = rows.iter().map(|r| r.as_slice().as_ptr()).collect();
    let blocks = c.div_ceil(k.block);
    let weights = qnn_kernels::AlignedBytes::zeroed(9 * blocks * k.kr * k.block * esize);
    let spec = qnn_kernels::EpilogueSpec {
        bias: vec![7],
        t3_zero_point: None,
        requant: Some(qnn_ir::RequantScale::Float { mults: vec![0.001] }),
        input_zero_point: 0,
        out_dtype: qnn_ir::DType::U8,
        zero_point: 128,
        clamp: None,
    };
    let prepared = qnn_kernels::PreparedEpilogue::new_block_lanes(&spec, c, k.block, k.kr)?;
    let epi = prepared.view(0);
    let mut out = vec![0u8; ow * c];
    let mut best = f64::INFINITY;
    for _ in 0..9 {
        let iters = 2000;
        let t = Instant::now();
        for _ in 0..iters {
            let a = DepthwiseArgs {
                rows: ptrs.as_ptr(),
                kh: 3,
                kw: 3,
                stride_w: sw,
                dilation_w: 1,
                ow,
                channels: c,
                weights: weights.as_slice().as_ptr(),
                epilogue: &epi,
                out: out.as_mut_ptr(),
            };
            // SAFETY: buffers sized for the contract; the probe passed.
            unsafe { (k.run)(&a) };
        }
        best = best.min(t.elapsed().as_secs_f64() / iters as f64);
    }
    let outputs = (ow * c) as f64;
    println!(
        "{name}: C {c} ow {ow} stride {sw}: {:.2} µs per row, {:.3} ns per output, {:.1} ns per 64 outputs",
        best * 1e6,
        best * 1e9 / outputs,
        best * 1e9 / outputs * 64.0
    );
    Ok(())
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {}
