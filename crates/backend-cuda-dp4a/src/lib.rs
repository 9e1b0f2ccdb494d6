//! `backend-cuda-dp4a`: quantized conv2d, depthwise and dense on NVIDIA GPUs with `__dp4a`
//! (4 s8×s8 products summed into an i32 per instruction, sm_61 and newer).
//!
//! * [`descriptor`]: the `cuda-dp4a` descriptor (int8 dot s8×s8, cost figures) and its
//!   probe, which returns why CUDA is unusable — no driver, no NVRTC, no device, too old a
//!   device — and never panics;
//! * [`loader`]: finding `libcuda.so.1` and NVRTC 12.x/13.x at run time (`QNN_CUDA_NVRTC`,
//!   `QNN_CUDA_DRIVER`, `$CUDA_HOME`, `/usr/local/cuda*`); nothing of CUDA is needed to build;
//! * [`nvrtc`]: the CUDA C of `src/cuda/`, compiled at first use for the device's own
//!   architecture, f32 kept exact (`--fmad=false`); [`device`]: the compiled kernels, cached
//!   per device ordinal;
//! * `layout` and `spec`: packing and validation on the host (shared with `qnn-kernels`:
//!   the same accumulator-range proof and epilogue layout as the CPU backends);
//! * [`CudaConvOp`]: a prepared layer, registered as two [`DeviceKernelEntry`]s —
//!   [`CONV_KERNEL`] (conv with any groups, stride, dilation, padding; dense) and
//!   [`DEPTHWISE_KERNEL`] — for the runtime to find with
//!   `qnn_ir::backend::registry::device_kernels()`;
//! * [`dp4a_peak`]: the device's measured dp4a peak, for benchmarks.
//!
//! A binary that wants the backend names it: `use backend_cuda_dp4a as _;`.

pub mod descriptor;
pub mod device;
pub mod error;
mod launch;
mod layout;
pub mod loader;
pub mod nvrtc;
mod op;
mod peak;
mod spec;

#[cfg(test)]
mod emulate;
// The shared test cases (tests/common) name this crate by its name, also in unit tests.
#[cfg(test)]
extern crate self as backend_cuda_dp4a;

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, DeviceConvSpec, DeviceKernelEntry, KernelClass, PreparedDeviceOp,
};

pub use descriptor::{DESCRIPTOR, NAME, probe};
pub use error::CudaError;
pub use layout::{TILES, Tile};
pub use op::{CudaConvOp, Options};
pub use peak::{Peak, dp4a_peak};
pub use spec::{Family, spec_from_frame};

/// Conv2d (not depthwise) and dense: implicit GEMM, tiles 128×128 / 64×64 / 32×32, split-K.
pub const CONV_KERNEL: &str = "dp4a_conv_s8s8";
/// Depthwise conv2d (any channel multiplier).
pub const DEPTHWISE_KERNEL: &str = "dp4a_dw_s8s8";

/// Whether `family`'s kernel computes `spec` (checks only; no device needed).
pub fn applicable(spec: &DeviceConvSpec, family: Family) -> Result<(), CudaError> {
    spec::check(spec, family).map(|_| ())
}

fn applicable_conv(spec: &DeviceConvSpec) -> Result<(), String> {
    applicable(spec, Family::Gemm).map_err(|e| e.to_string())
}

fn applicable_depthwise(spec: &DeviceConvSpec) -> Result<(), String> {
    applicable(spec, Family::Depthwise).map_err(|e| e.to_string())
}

fn prepare_boxed(
    spec: &DeviceConvSpec,
    family: Family,
) -> Result<Box<dyn PreparedDeviceOp>, String> {
    applicable(spec, family).map_err(|e| e.to_string())?;
    CudaConvOp::prepare(spec)
        .map(|op| Box::new(op) as Box<dyn PreparedDeviceOp>)
        .map_err(|e| e.to_string())
}

fn prepare_conv(spec: &DeviceConvSpec) -> Result<Box<dyn PreparedDeviceOp>, String> {
    prepare_boxed(spec, Family::Gemm)
}

fn prepare_depthwise(spec: &DeviceConvSpec) -> Result<Box<dyn PreparedDeviceOp>, String> {
    prepare_boxed(spec, Family::Depthwise)
}

inventory::submit! {
    DeviceKernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: CONV_KERNEL,
        class: KernelClass::Int8Gemm,
        operands: (DType::I8, DType::I8),
        applicable: applicable_conv,
        prepare: prepare_conv,
    }
}

inventory::submit! {
    DeviceKernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: DEPTHWISE_KERNEL,
        class: KernelClass::Int8Depthwise,
        operands: (DType::I8, DType::I8),
        applicable: applicable_depthwise,
        prepare: prepare_depthwise,
    }
}
