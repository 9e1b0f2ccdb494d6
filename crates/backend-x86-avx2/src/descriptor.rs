//! The `x86-avx2` descriptor: no int8 dot product, so the legalizer picks the int16
//! lowering (subtract the zero points, then `vpmaddwd`). It stands in for an old Intel
//! machine on a newer one (`QNN_BACKEND=x86-avx2`).

use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, KernelClass, KernelCost,
};

/// The backend's stable name.
pub const NAME: &str = "x86-avx2";

/// The CPU features every kernel of this backend is compiled for.
pub fn probe() -> Result<(), String> {
    qnn_kernels::cpu_probe!(x86_64, "x86-avx2", "AVX2 kernels": "avx2")
}

/// Cost figures per core and cycle: `vpmaddwd` + `vpaddd` on ymm peak at 32 MACs per cycle
/// (two ports; 90 GMAC/s measured on a 3.6 GHz core), the GEMM kernels reach about 80 % of
/// it; the int8 path runs the same kernel after widening; depthwise is bound by its
/// epilogue.
pub const DESCRIPTOR: BackendDescriptor = BackendDescriptor {
    abi_version: BACKEND_ABI_VERSION,
    name: NAME,
    arch: Arch::X86_64,
    features: &["avx2"],
    probe,
    priority: 50,
    capabilities: Capabilities {
        int8_dot: &[],
        int16_mac: true,
        vector_bits: 256,
        bytes_per_cycle: 32.0,
        costs: &[
            KernelCost { class: KernelClass::Int16Gemm, macs_per_cycle: 20.0 },
            KernelCost { class: KernelClass::Int8Gemm, macs_per_cycle: 18.0 },
            KernelCost { class: KernelClass::Int16Depthwise, macs_per_cycle: 6.0 },
            KernelCost { class: KernelClass::Int8Depthwise, macs_per_cycle: 5.0 },
            KernelCost { class: KernelClass::WindowSum, macs_per_cycle: 32.0 },
        ],
    },
    summary: "x86-64 AVX2, no int8 dot product: int16 GEMM (vpmaddwd), exact int8 via widening, depthwise, dense",
};

inventory::submit! { DESCRIPTOR }
