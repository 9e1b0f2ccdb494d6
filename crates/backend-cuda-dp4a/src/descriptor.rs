//! The `cuda-dp4a` descriptor: an s8×s8 int8 dot product (`__dp4a`), so the legalizer picks
//! the int8 lowering with zero-point terms and shifts u8 operands by −128; and the probe,
//! which says why CUDA is unusable here instead of panicking.

use std::sync::OnceLock;

use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, Int8Dot, KernelClass, KernelCost,
};

use crate::device::default_ordinal;
use crate::error::CudaError;
use crate::loader::{cuda_libraries_available, guarded};

/// The backend's stable name.
pub const NAME: &str = "cuda-dp4a";

/// Is a dp4a-capable device usable here? Checks, in order and without panicking: the driver
/// library, NVRTC, `cuInit`, a device at `QNN_CUDA_DEVICE` (default 0), its compute
/// capability (≥ 6.1). Computed once per process. Does not compile the kernels (that
/// happens at first use).
pub fn probe() -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT.get_or_init(|| probe_device().map_err(|e| e.to_string())).clone()
}

fn probe_device() -> Result<(), CudaError> {
    cuda_libraries_available()?;
    guarded("the CUDA probe", || {
        use cudarc::driver::result;
        use cudarc::driver::sys::CUdevice_attribute as A;
        let unavailable = |what: &str, e: result::DriverError| {
            CudaError::Unavailable(format!("{what} failed: {e:?}"))
        };
        result::init().map_err(|e| unavailable("cuInit (no usable device or driver)", e))?;
        let count = result::device::get_count().map_err(|e| unavailable("cuDeviceGetCount", e))?;
        let ordinal = default_ordinal();
        if usize::try_from(count).unwrap_or(0) <= ordinal {
            return Err(CudaError::Unavailable(format!(
                "the driver sees {count} CUDA device(s); device {ordinal} (QNN_CUDA_DEVICE) is not one"
            )));
        }
        let dev = result::device::get(ordinal as i32).map_err(|e| unavailable("cuDeviceGet", e))?;
        // SAFETY: `dev` is a valid device handle from cuDeviceGet.
        let attr = |a| unsafe { result::device::get_attribute(dev, a) };
        let major = attr(A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
            .map_err(|e| unavailable("compute capability", e))?;
        let minor = attr(A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
            .map_err(|e| unavailable("compute capability", e))?;
        if (major, minor) < (6, 1) {
            return Err(CudaError::Unavailable(format!(
                "device {ordinal} is sm_{major}{minor}; dp4a needs sm_61 or newer"
            )));
        }
        Ok(())
    })
}

/// Cost figures per device clock for a whole GPU (the legalizer compares lowerings within
/// one target, so only their ratios matter), from the GPU check on an H200 (132 SMs,
/// ≈ 1.98 GHz): the dp4a micro-benchmark reaches 63 dp4a (252 MACs) per SM and clock;
/// the batch-1 layer suite's convolutions reach 10–16 % of that (≈ 4 000 MACs per clock:
/// small layers are bound by load latency and launches, not by dp4a), depthwise layers
/// about 1 %; HBM moves ≈ 2 000 bytes per clock.
pub const DESCRIPTOR: BackendDescriptor = BackendDescriptor {
    abi_version: BACKEND_ABI_VERSION,
    name: NAME,
    arch: Arch::Cuda,
    // Named targets `cuda` and `cuda:sm_XX` include it (the legalizer's table gives dp4a).
    features: &["dp4a"],
    probe,
    priority: 30,
    capabilities: Capabilities {
        int8_dot: &[Int8Dot::S8S8],
        // No int16 kernels: the int16 lowering is not offered on this backend.
        int16_mac: false,
        vector_bits: 32,
        bytes_per_cycle: 2048.0,
        costs: &[
            KernelCost { class: KernelClass::Int8Gemm, macs_per_cycle: 4096.0 },
            KernelCost { class: KernelClass::Int8Depthwise, macs_per_cycle: 256.0 },
            KernelCost { class: KernelClass::WindowSum, macs_per_cycle: 2048.0 },
        ],
    },
    summary: "NVIDIA GPU (sm_61+), dp4a s8×s8: conv/dense implicit GEMM, depthwise; NVRTC at first use",
};

inventory::submit! { DESCRIPTOR }
