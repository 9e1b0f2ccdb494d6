//! AVX-VNNI (`vpdpbusd` on ymm, VEX-encoded): Alder Lake and later client cores, Sapphire
//! Rapids; the int8 dot product without AVX-512.

pub mod gemm;

/// The CPU features every kernel of this module is compiled for.
pub fn probe() -> Result<(), String> {
    let missing: Vec<&str> = [
        ("avx2", std::arch::is_x86_feature_detected!("avx2")),
        ("avxvnni", std::arch::is_x86_feature_detected!("avxvnni")),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(f, _)| f)
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("the CPU lacks {} (AVX-VNNI kernels)", missing.join(", ")))
    }
}
