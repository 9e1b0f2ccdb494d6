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

/// Cost figures per core and cycle, relative to the `vpmaddwd` + `vpaddd` peak of 32 MACs
/// per cycle (82 GMAC/s measured on one Zen 3 core, 12 accumulators): the GEMM kernels reach
/// 80–90 % of it on 3×3 and wide 1×1 layers, less on short reductions (about 27 MACs per
/// cycle over the suite); depthwise layers about 5.5 (13–14 GMAC/s, bound by the widening
/// loads, one product per i32 lane and the epilogue). Both lowerings run the same kernels on
/// the same 8-bit data read in place (the int16 one with the data offset folded into the
/// constant), so their figures are equal: the int8 lowering costs more only through the T3
/// window sums of asymmetric weights, which the cost model adds.
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
            KernelCost { class: KernelClass::Int16Gemm, macs_per_cycle: 27.0 },
            KernelCost { class: KernelClass::Int8Gemm, macs_per_cycle: 27.0 },
            KernelCost { class: KernelClass::Int16Depthwise, macs_per_cycle: 5.5 },
            KernelCost { class: KernelClass::Int8Depthwise, macs_per_cycle: 5.5 },
            KernelCost { class: KernelClass::WindowSum, macs_per_cycle: 32.0 },
        ],
    },
    summary: "x86-64 AVX2, no int8 dot product: exact vpmaddwd GEMM, depthwise and dense on 8-bit data widened in registers (int16 and int8 lowerings), vpmaddubsw where the weights prove it exact",
};

inventory::submit! { DESCRIPTOR }
