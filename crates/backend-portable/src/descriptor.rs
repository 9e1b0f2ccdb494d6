//! The `portable` descriptor: plain Rust, any CPU, no vector registers. Its lowest priority
//! and cost figures make every real backend win wherever one has a kernel.

use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, KernelClass, KernelCost,
};

/// The backend's stable name.
pub const NAME: &str = "portable";

/// The descriptor this crate registers.
pub const DESCRIPTOR: BackendDescriptor = BackendDescriptor {
    abi_version: BACKEND_ABI_VERSION,
    name: NAME,
    arch: Arch::Portable,
    features: &[],
    probe: qnn_kernels::scalar::always,
    priority: -100,
    capabilities: Capabilities {
        int8_dot: &[],
        int16_mac: false,
        vector_bits: 0,
        bytes_per_cycle: 8.0,
        costs: &[
            KernelCost { class: KernelClass::Int8Gemm, macs_per_cycle: 1.0 },
            KernelCost { class: KernelClass::Int16Gemm, macs_per_cycle: 1.0 },
            KernelCost { class: KernelClass::Int8Depthwise, macs_per_cycle: 1.0 },
            KernelCost { class: KernelClass::Int16Depthwise, macs_per_cycle: 1.0 },
            KernelCost { class: KernelClass::WindowSum, macs_per_cycle: 2.0 },
        ],
    },
    summary: "portable scalar kernels of the shared frame (any CPU; the fallback of every other backend)",
};

inventory::submit! { DESCRIPTOR }
