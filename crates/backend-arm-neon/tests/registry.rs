//! The descriptor as the legalizer and `qnn targets` see it, on every host, and the probes
//! on aarch64.

use backend_arm_neon as _;
use qnn_ir::backend::{Arch, KernelClass, registry};

#[test]
fn descriptor_says_int16_mac_and_no_int8_dot() {
    let d = registry::backend("arm-neon").expect("arm-neon is registered on every host");
    assert_eq!(d.arch, Arch::Aarch64);
    assert!(d.capabilities.int8_dot.is_empty());
    assert!(d.capabilities.int16_mac);
    assert_eq!(d.capabilities.vector_bits, 128);
    for class in [KernelClass::Int16Gemm, KernelClass::Int8Gemm, KernelClass::Int16Depthwise] {
        assert!(d.capabilities.cost(class).is_some(), "{class:?}");
    }
    // The int16 lowering is the fast one here: its figure must say so.
    assert!(
        d.capabilities.cost(KernelClass::Int16Gemm) > d.capabilities.cost(KernelClass::Int8Gemm)
    );
    assert!(d.runs_on(&["neon"]));
    assert!(!d.runs_on(&["avx2"]));
    assert!(registry::problems().is_empty(), "{:?}", registry::problems());
}

/// A target named for a Raspberry Pi 3 is planned from any host: the descriptor is there,
/// and the legalizer picks the int16 lowering's backend for it.
#[test]
fn named_arm_targets_include_neon_from_any_host() {
    for spec in [
        "aarch64-unknown-linux-gnu:cortex-a53",
        "aarch64-unknown-linux-gnu:neoverse-n1",
        "aarch64-unknown-linux-gnu:+neon",
    ] {
        let t: qnn_legalize::Target = spec.parse().unwrap();
        assert!(t.backends().iter().any(|d| d.name == "arm-neon"), "{spec}: {t}");
    }
}

#[cfg(not(target_arch = "aarch64"))]
#[test]
fn off_arm_the_probe_says_why_and_no_kernel_is_registered() {
    let d = registry::backend("arm-neon").unwrap();
    let why = d.probe().unwrap_err();
    assert!(why.contains("aarch64"), "{why}");
    assert!(registry::kernels_of("arm-neon").is_empty());
}

#[cfg(target_arch = "aarch64")]
#[test]
fn on_arm_the_probes_agree_with_the_cpu() {
    let neon = std::arch::is_aarch64_feature_detected!("neon");
    let d = registry::backend("arm-neon").unwrap();
    assert_eq!(d.probe().is_ok(), neon, "{:?}", d.probe());
    let kernels = registry::kernels_of("arm-neon");
    assert_eq!(kernels.len(), 26);
    for k in kernels {
        assert_eq!(k.probe().is_ok(), neon, "{}: {:?}", k.name, k.probe());
    }
}

/// On aarch64 a binary that names the crate has every kernel it declares, sorted by name
/// (the conformance suites run inside the crate's own test build).
#[cfg(target_arch = "aarch64")]
#[test]
fn on_arm_every_kernel_is_registered() {
    let names: Vec<&str> = registry::kernels_of("arm-neon").iter().map(|k| k.name).collect();
    assert_eq!(
        names,
        [
            "neon_add_s8",
            "neon_add_u8",
            "neon_dequantize_s8",
            "neon_dequantize_u8",
            "neon_dw_i16_16",
            "neon_dw_s8s8_16",
            "neon_dw_u8u8_16",
            "neon_gemm_i16_1x32",
            "neon_gemm_i16_4x16",
            "neon_gemm_s8s8_4x4c16_mlal",
            "neon_gemm_s8s8_4x4c16_sadalp",
            "neon_gemm_u8u8_4x4c16",
            "neon_lookup_s8s8",
            "neon_lookup_s8u8",
            "neon_lookup_u8s8",
            "neon_lookup_u8u8",
            "neon_pool_avg_s8",
            "neon_pool_avg_u8",
            "neon_pool_max_s8",
            "neon_pool_max_u8",
            "neon_pool_sum_s8",
            "neon_pool_sum_u8",
            "neon_quantize_s8",
            "neon_quantize_u8",
            "neon_transpose_quantize_s8",
            "neon_transpose_quantize_u8",
        ]
    );
}
