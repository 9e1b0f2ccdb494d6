//! The dp4a peak of a device, measured with a kernel of independent dp4a chains
//! (`cuda/peak.cu`), to set layer throughput against.

use cudarc::driver::{LaunchConfig, PushKernelArg};

use crate::device::{Device, device};
use crate::error::CudaError;
use crate::loader::guarded;

/// What the micro-benchmark measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Peak {
    /// Device and kernels.
    pub device: String,
    /// Multiply-accumulates per second (4 per dp4a).
    pub macs_per_second: f64,
    /// dp4a instructions per SM and clock, when the driver reports the clock.
    pub dp4a_per_sm_clock: Option<f64>,
}

/// Runs the micro-benchmark on device `ordinal`: 8 blocks of 256 threads per SM, 16 chains
/// per thread, the median of 5 timed launches after a warm-up.
pub fn dp4a_peak(ordinal: usize) -> Result<Peak, CudaError> {
    crate::probe().map_err(CudaError::Unavailable)?;
    let dev = device(ordinal)?;
    guarded("the dp4a peak benchmark", || measure(&dev))
}

fn measure(dev: &Device) -> Result<Peak, CudaError> {
    let drv = |what| move |e| CudaError::driver(what, e);
    let stream = dev.ctx.new_stream().map_err(drv("cuStreamCreate"))?;
    let blocks = (dev.multiprocessors * 8) as u32;
    let threads = 256u32;
    let mut out =
        stream.alloc_zeros::<i32>((blocks * threads) as usize).map_err(drv("cuMemAlloc"))?;
    let f = dev.function("dp4a_peak")?;
    let iters: i32 = 4096;
    let cfg =
        LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (threads, 1, 1), shared_mem_bytes: 0 };
    let flags = Some(cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT);
    let start = dev.ctx.new_event(flags).map_err(drv("cuEventCreate"))?;
    let end = dev.ctx.new_event(flags).map_err(drv("cuEventCreate"))?;
    let mut times = Vec::new();
    for rep in 0..6 {
        let seed = 0x0102_0304 + rep;
        start.record(&stream).map_err(drv("cuEventRecord"))?;
        let mut b = stream.launch_builder(f);
        b.arg(&mut out).arg(&iters).arg(&seed);
        // SAFETY: `out` holds one i32 per launched thread, the kernel's only memory access.
        unsafe { b.launch(cfg) }.map_err(drv("cuLaunchKernel"))?;
        end.record(&stream).map_err(drv("cuEventRecord"))?;
        end.synchronize().map_err(drv("cuEventSynchronize"))?;
        let ms = start.elapsed_ms(&end).map_err(drv("cuEventElapsedTime"))?;
        if rep > 0 {
            times.push(f64::from(ms) / 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    let seconds = times[times.len() / 2];
    let dp4a = f64::from(blocks) * f64::from(threads) * f64::from(iters) * 16.0;
    let per_clock = dev
        .clock_khz
        .filter(|&k| k > 0)
        .map(|k| dp4a / seconds / (f64::from(k) * 1e3) / dev.multiprocessors as f64);
    Ok(Peak {
        device: dev.describe(),
        macs_per_second: 4.0 * dp4a / seconds,
        dp4a_per_sm_clock: per_clock,
    })
}
