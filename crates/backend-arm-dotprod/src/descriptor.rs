//! The `arm-dotprod` descriptor: `sdot` (s8 × s8) and `udot` (u8 × u8), so the legalizer
//! picks the int8 lowering with zero-point terms and shifts operands to a signedness the
//! instruction has. Always registered, on every host (a named target such as
//! `aarch64-unknown-linux-gnu:neoverse-n1` is planned from anywhere); the kernels exist only
//! in aarch64 builds. The i8mm kernels (`smmla`/`ummla`) belong to this backend but probe
//! their own feature.

use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, Int8Dot, KernelClass, KernelCost,
};

/// The backend's stable name.
pub const NAME: &str = "arm-dotprod";

/// Usable when the CPU has the Armv8.2 dot product (`FEAT_DotProd`).
pub fn probe() -> Result<(), String> {
    qnn_kernels::cpu_probe!(aarch64, "arm-dotprod", "sdot/udot, Armv8.2 FEAT_DotProd": "dotprod")
}

/// Cost figures per core and cycle for a Neoverse N1 / Cortex-A76 (two 128-bit NEON pipes,
/// each an `sdot` of 16 MACs per cycle: 32 MACs peak). The 4×16c4 GEMM issues 16 `sdot`
/// per 4 weight loads and 1 data load per 16 k, about 85 % of peak on large layers; the
/// depthwise kernel does 4 MACs per `sdot` (one useful byte in four) plus its epilogue.
/// (On i8mm cores `smmla` doubles the GEMM figure; the legalizer's choice does not change.)
/// `int16_mac` is false: the hardware has `smlal`, but this backend registers no int16
/// kernels — `arm-neon` provides them on the same CPU.
pub const DESCRIPTOR: BackendDescriptor = BackendDescriptor {
    abi_version: BACKEND_ABI_VERSION,
    name: NAME,
    arch: Arch::Aarch64,
    features: &["dotprod"],
    probe,
    priority: 20,
    capabilities: Capabilities {
        int8_dot: &[Int8Dot::S8S8, Int8Dot::U8U8],
        int16_mac: false,
        vector_bits: 128,
        bytes_per_cycle: 16.0,
        costs: &[
            KernelCost { class: KernelClass::Int8Gemm, macs_per_cycle: 27.0 },
            KernelCost { class: KernelClass::Int8Depthwise, macs_per_cycle: 6.0 },
            KernelCost { class: KernelClass::WindowSum, macs_per_cycle: 32.0 },
        ],
    },
    summary: "aarch64 dotprod (sdot/udot) and i8mm (smmla/ummla): int8 GEMM, dense and depthwise kernels",
};

inventory::submit! { DESCRIPTOR }
