//! The descriptor as the legalizer and `qnn targets` see it, on every host.

use backend_arm_dotprod as _;
use qnn_ir::backend::{Arch, Int8Dot, KernelClass, registry};

#[test]
fn descriptor_says_int8_dot_s8s8_and_u8u8() {
    let d = registry::backend("arm-dotprod").expect("arm-dotprod is registered on every host");
    assert_eq!(d.arch, Arch::Aarch64);
    assert_eq!(d.capabilities.int8_dot, &[Int8Dot::S8S8, Int8Dot::U8U8]);
    assert!(!d.capabilities.int16_mac, "its int16 kernels are arm-neon's");
    assert!(d.capabilities.cost(KernelClass::Int8Gemm).is_some());
    assert!(d.capabilities.cost(KernelClass::Int8Depthwise).is_some());
    assert!(d.runs_on(&["neon", "dotprod"]));
    assert!(!d.runs_on(&["neon"]));
    assert!(registry::problems().is_empty(), "{:?}", registry::problems());
}

/// Named targets are planned from any host: a dotprod CPU gets this backend, a Cortex-A53
/// does not.
#[test]
fn named_arm_targets_from_any_host() {
    let has = |spec: &str| {
        let t: qnn_legalize::Target = spec.parse().unwrap();
        t.backends().iter().any(|d| d.name == "arm-dotprod")
    };
    assert!(has("aarch64-unknown-linux-gnu:neoverse-n1"));
    assert!(has("aarch64-unknown-linux-gnu:neoverse-v1"));
    assert!(has("aarch64-unknown-linux-gnu:+dotprod"));
    assert!(!has("aarch64-unknown-linux-gnu:cortex-a53"));
}

#[cfg(not(target_arch = "aarch64"))]
#[test]
fn off_arm_the_probe_says_why_and_no_kernel_is_registered() {
    let d = registry::backend("arm-dotprod").unwrap();
    assert!(d.probe().unwrap_err().contains("aarch64"));
    assert!(registry::kernels_of("arm-dotprod").is_empty());
}

/// On aarch64 a binary that names the crate has every kernel it declares, sorted by name
/// (the conformance suites run inside the crate's own test build).
#[cfg(target_arch = "aarch64")]
#[test]
fn on_arm_every_kernel_is_registered() {
    let names: Vec<&str> = registry::kernels_of("arm-dotprod").iter().map(|k| k.name).collect();
    assert_eq!(
        names,
        [
            "dotprod_dw_s8s8_16",
            "dotprod_dw_u8u8_16",
            "dotprod_gemm_s8s8_1x32c4",
            "dotprod_gemm_s8s8_4x16c4",
            "dotprod_gemm_u8u8_1x32c4",
            "dotprod_gemm_u8u8_4x16c4",
            "i8mm_gemm_s8s8_6x16c8",
            "i8mm_gemm_u8u8_6x16c8",
        ]
    );
}
