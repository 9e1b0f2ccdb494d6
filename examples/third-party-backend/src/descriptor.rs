//! The `x86-sse41` descriptor: no int8 dot product, int16 multiply-accumulate on 128-bit
//! vectors.

use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, KernelClass, KernelCost,
};

/// The backend's stable name (`qnn run --backend x86-sse41`, `QNN_BACKEND`, reports).
pub const NAME: &str = "x86-sse41";

/// The CPU features every kernel of this backend is compiled for.
pub fn probe() -> Result<(), String> {
    qnn_kernels::cpu_probe!(x86_64, "x86-sse41", "SSE4.1 kernels": "sse4.1", "ssse3")
}

/// Cost figures per core and cycle: `pmaddwd` + `paddd` on xmm peak at 8 MACs per
/// instruction, two per cycle on Sandy Bridge and later (one on Nehalem and the Atoms); the
/// tiles reach about 60 % of 16. The int8 path runs the same kernel after the frame's
/// widening. Depthwise runs one `pmaddwd` per 4 channels and tap, bound by its epilogue.
pub const DESCRIPTOR: BackendDescriptor = BackendDescriptor {
    abi_version: BACKEND_ABI_VERSION,
    name: NAME,
    arch: Arch::X86_64,
    features: &["sse4.1"],
    probe,
    // Below x86-avx2 (50): on a CPU with AVX2 the wider kernels win; force this one with
    // `--backend x86-sse41`.
    priority: 40,
    capabilities: Capabilities {
        int8_dot: &[],
        int16_mac: true,
        vector_bits: 128,
        bytes_per_cycle: 16.0,
        costs: &[
            KernelCost { class: KernelClass::Int16Gemm, macs_per_cycle: 10.0 },
            KernelCost { class: KernelClass::Int8Gemm, macs_per_cycle: 9.0 },
            KernelCost { class: KernelClass::Int16Depthwise, macs_per_cycle: 3.0 },
            KernelCost { class: KernelClass::Int8Depthwise, macs_per_cycle: 2.5 },
            KernelCost { class: KernelClass::WindowSum, macs_per_cycle: 16.0 },
        ],
    },
    summary: "x86-64 SSE4.1 without AVX2 (a third-party crate): int16 GEMM and depthwise (pmaddwd xmm), exact int8 via widening, dense",
};

inventory::submit! { DESCRIPTOR }
