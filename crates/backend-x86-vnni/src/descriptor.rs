//! The `x86-vnni` descriptor: an int8 dot product (u8 × s8), so the legalizer picks the
//! int8 lowering with zero-point terms and shifts s8 data by +128.

use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, Int8Dot, KernelClass, KernelCost,
};

/// The backend's stable name.
pub const NAME: &str = "x86-vnni";

/// Usable when either ISA variant is: AVX-512 VNNI (zmm) or AVX-VNNI (ymm).
fn probe() -> Result<(), String> {
    match (crate::avx512::probe(), crate::avxvnni::probe()) {
        (Ok(()), _) | (_, Ok(())) => Ok(()),
        (Err(a), Err(b)) => Err(format!("{a}; {b}")),
    }
}

/// Cost figures per core and cycle, measured on a Sapphire Rapids core (2 × 512-bit
/// `vpdpbusd` per cycle = 128 MACs; 460 GMAC/s at 3.6 GHz): the GEMM kernels reach about
/// 85 % of it on large layers, depthwise about a tenth (4 `vpdpbusd` per 64 channel MACs
/// and the epilogue per output dominate).
pub const DESCRIPTOR: BackendDescriptor = BackendDescriptor {
    abi_version: BACKEND_ABI_VERSION,
    name: NAME,
    arch: Arch::X86_64,
    // The AVX-512 variant's features: a named target with them includes this backend. A
    // CPU with AVX-VNNI only (Alder Lake) is found by the probe at run time.
    features: &["avx512f", "avx512bw", "avx512vnni"],
    probe,
    priority: 100,
    capabilities: Capabilities {
        int8_dot: &[Int8Dot::U8S8],
        int16_mac: true,
        vector_bits: 512,
        bytes_per_cycle: 32.0,
        costs: &[
            KernelCost { class: KernelClass::Int8Gemm, macs_per_cycle: 108.0 },
            KernelCost { class: KernelClass::Int8Depthwise, macs_per_cycle: 12.0 },
            KernelCost { class: KernelClass::WindowSum, macs_per_cycle: 64.0 },
        ],
    },
    summary: "x86-64 AVX-512 VNNI / AVX-VNNI: int8 (u8×s8) GEMM, depthwise, first-layer and dense kernels",
};

inventory::submit! { DESCRIPTOR }
