//! The `arm-neon` descriptor: 128-bit NEON with a 16-bit multiply-accumulate (`smlal`) and no
//! int8 dot product, so the legalizer picks the int16 lowering (ARCHITECTURE.md §1): the
//! Raspberry Pi 3 case of the RFC. Always registered, on every host, so that a target named
//! for such a machine (`aarch64-unknown-linux-gnu:cortex-a53`) can be planned from anywhere;
//! the kernels exist only in aarch64 builds.

use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, KernelClass, KernelCost,
};

/// The backend's stable name.
pub const NAME: &str = "arm-neon";

/// Usable when the CPU has Advanced SIMD (every aarch64 Linux CPU, but probed, not assumed).
pub fn probe() -> Result<(), String> {
    qnn_kernels::cpu_probe!(aarch64, "arm-neon", "Advanced SIMD": "neon")
}

/// Cost figures per core and cycle for a Cortex-A53 (the slowest core this backend targets;
/// in-order, one 64-bit NEON multiply per cycle, a Q-form `smlal` of 4 MACs every cycle when
/// dual-issued with its loads). The int16 GEMM reaches about 3.5 MACs/cycle (the 4×16
/// mlal-lane loop does 4 MACs per `smlal`, 3.5 per instruction counting loads); the exact
/// int8 path `smull` + `sadalp` does 8 MACs per two instructions but `sadalp` issues on
/// the same pipe, about 3; depthwise pays an epilogue per 16 channels per pixel.
pub const DESCRIPTOR: BackendDescriptor = BackendDescriptor {
    abi_version: BACKEND_ABI_VERSION,
    name: NAME,
    arch: Arch::Aarch64,
    features: &["neon"],
    probe,
    priority: 10,
    capabilities: Capabilities {
        int8_dot: &[],
        int16_mac: true,
        vector_bits: 128,
        bytes_per_cycle: 8.0,
        costs: &[
            KernelCost { class: KernelClass::Int16Gemm, macs_per_cycle: 3.5 },
            KernelCost { class: KernelClass::Int8Gemm, macs_per_cycle: 3.0 },
            KernelCost { class: KernelClass::Int16Depthwise, macs_per_cycle: 2.0 },
            KernelCost { class: KernelClass::Int8Depthwise, macs_per_cycle: 2.0 },
            KernelCost { class: KernelClass::WindowSum, macs_per_cycle: 8.0 },
        ],
    },
    summary: "aarch64 NEON without dotprod: int16 smlal-lane GEMM, exact int8 smull+sadalp GEMM, depthwise and dense kernels",
};

inventory::submit! { DESCRIPTOR }
