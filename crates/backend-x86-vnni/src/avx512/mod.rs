//! AVX-512 VNNI (`vpdpbusd` on zmm): Cascade Lake, Ice Lake, Sapphire Rapids and later.

pub mod depthwise;
pub mod gemm;
pub mod requant;
pub mod store;

/// The CPU features every kernel of this module is compiled for.
pub fn probe() -> Result<(), String> {
    qnn_kernels::cpu_probe!(
        x86_64, "x86-vnni", "AVX-512 VNNI kernels": "avx512f", "avx512bw", "avx512vnni"
    )
}
