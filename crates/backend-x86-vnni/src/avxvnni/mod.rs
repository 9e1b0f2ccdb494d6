//! AVX-VNNI (`vpdpbusd` on ymm, VEX-encoded): Alder Lake and later client cores, Sapphire
//! Rapids; the int8 dot product without AVX-512.

pub mod gemm;

/// The CPU features every kernel of this module is compiled for.
pub fn probe() -> Result<(), String> {
    qnn_kernels::cpu_probe!(x86_64, "x86-vnni", "AVX-VNNI kernels": "avx2", "avxvnni")
}
