//! The backend as a binary that names the crate sees it: the descriptor and every kernel in
//! the registry (the conformance suites run inside the crate's own test build).

use backend_portable as _;
use qnn_ir::backend::{Arch, KernelClass, registry};

const B: &str = "portable";

#[test]
fn the_descriptor_is_the_fallback() {
    let d = registry::backend(B).expect("portable is registered");
    assert_eq!(d.arch, Arch::Portable);
    assert_eq!(d.priority, -100);
    assert!(d.features.is_empty() && d.runs_on(&[]));
    assert_eq!(d.probe(), Ok(()));
    assert!(!d.capabilities.has_int8_dot());
    assert_eq!(d.capabilities.cost(KernelClass::Int8Gemm), Some(1.0));
    assert_eq!(d.capabilities.cost(KernelClass::WindowSum), Some(2.0));
    assert!(registry::problems().is_empty(), "{:?}", registry::problems());
}

#[test]
fn registers_every_kernel() {
    let names: Vec<&str> = registry::kernels_of(B).iter().map(|k| k.name).collect();
    assert_eq!(
        names,
        [
            "portable_add_s8",
            "portable_add_u8",
            "portable_dequantize_s8",
            "portable_dequantize_u8",
            "portable_dw_i16_8",
            "portable_dw_s8s8_8",
            "portable_dw_s8u8_8",
            "portable_dw_u8s8_8",
            "portable_dw_u8u8_8",
            "portable_gemm_i16_4x8",
            "portable_gemm_s8s8_4x8",
            "portable_gemm_s8u8_4x8",
            "portable_gemm_u8s8_4x8",
            "portable_gemm_u8u8_4x8",
            "portable_lookup_s8s8",
            "portable_lookup_s8u8",
            "portable_lookup_u8s8",
            "portable_lookup_u8u8",
            "portable_pool_avg_s8",
            "portable_pool_avg_u8",
            "portable_pool_max_s8",
            "portable_pool_max_u8",
            "portable_pool_sum_s8",
            "portable_pool_sum_u8",
            "portable_quantize_s8",
            "portable_quantize_u8",
            "portable_transpose_dequantize_s8",
            "portable_transpose_dequantize_u8",
            "portable_transpose_quantize_s8",
            "portable_transpose_quantize_u8",
            "portable_transpose_x16",
            "portable_transpose_x32",
            "portable_transpose_x8",
        ]
    );
    for k in registry::kernels_of(B) {
        assert_eq!(k.probe(), Ok(()), "{}", k.name);
    }
}
