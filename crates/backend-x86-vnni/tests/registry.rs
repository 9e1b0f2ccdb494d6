//! The descriptor as the legalizer and `qnn targets` see it.
#![cfg(target_arch = "x86_64")]

use backend_x86_vnni as _;
use qnn_ir::backend::{Arch, Int8Dot, KernelClass, registry};

#[test]
fn descriptor_says_int8_dot_u8s8() {
    let d = registry::backend("x86-vnni").expect("x86-vnni is registered");
    assert_eq!(d.arch, Arch::X86_64);
    assert_eq!(d.capabilities.int8_dot, &[Int8Dot::U8S8]);
    assert!(d.capabilities.cost(KernelClass::Int8Gemm).is_some());
    assert!(d.runs_on(&["avx2", "avx512f", "avx512bw", "avx512vnni"]));
    assert!(!d.runs_on(&["avx2", "fma"]));
    assert!(registry::problems().is_empty(), "{:?}", registry::problems());
}

/// A binary that names the crate has every kernel it declares, sorted by name (the linker
/// keeps registrations only of crates something names; the conformance suites run inside
/// the crate's own test build).
#[test]
fn registers_every_kernel() {
    let names: Vec<&str> = registry::kernels_of("x86-vnni").iter().map(|k| k.name).collect();
    assert_eq!(
        names,
        [
            "avxvnni_gemm_u8s8_1x64",
            "avxvnni_gemm_u8s8_6x16",
            "vnni_dw_u8s8_64",
            "vnni_gemm_u8s8_1x128",
            "vnni_gemm_u8s8_6x64",
            "vnni_gemm_u8s8_8x16",
            "vnni_gemm_u8s8_8x32",
            "vnni_gemm_u8s8_8x48",
        ]
    );
    assert!(registry::kernels_of("x86-vnni").iter().all(|k| k.backend == "x86-vnni"));
}

/// The probes agree with the CPU: the descriptor is usable iff some variant is.
#[test]
fn probes_agree_with_the_cpu() {
    let avx512 = std::arch::is_x86_feature_detected!("avx512vnni")
        && std::arch::is_x86_feature_detected!("avx512bw");
    let avxvnni = std::arch::is_x86_feature_detected!("avxvnni");
    let d = registry::backend("x86-vnni").unwrap();
    assert_eq!(d.probe().is_ok(), avx512 || avxvnni, "{:?}", d.probe());
    for k in registry::kernels_of("x86-vnni") {
        let expected = if k.name.starts_with("avxvnni_") { avxvnni } else { avx512 };
        assert_eq!(k.probe().is_ok(), expected, "{}: {:?}", k.name, k.probe());
    }
}
