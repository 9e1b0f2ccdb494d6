//! AVX-512 VNNI (`vpdpbusd` on zmm): Cascade Lake, Ice Lake, Sapphire Rapids and later.

pub mod depthwise;
pub mod gemm;
pub mod requant;
pub mod store;

/// The CPU features every kernel of this module is compiled for.
pub fn probe() -> Result<(), String> {
    let missing: Vec<&str> = [
        ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ("avx512bw", std::arch::is_x86_feature_detected!("avx512bw")),
        ("avx512vnni", std::arch::is_x86_feature_detected!("avx512vnni")),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(f, _)| f)
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("the CPU lacks {} (AVX-512 VNNI kernels)", missing.join(", ")))
    }
}
