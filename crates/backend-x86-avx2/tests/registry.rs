//! The descriptor, and the range guard of the `vpmaddubsw` kernel.
#![cfg(target_arch = "x86_64")]

use backend_x86_avx2 as _;
use qnn_ir::DType;
use qnn_ir::backend::{Arch, KernelClass, registry};
use qnn_kernels::{ConvGeometry, ConvPlan, ConvProblem, EpilogueSpec, KernelError};

#[test]
fn descriptor_says_no_int8_dot_product() {
    let d = registry::backend("x86-avx2").expect("x86-avx2 is registered");
    assert_eq!(d.arch, Arch::X86_64);
    assert!(!d.capabilities.has_int8_dot());
    assert!(d.capabilities.int16_mac);
    assert!(d.capabilities.cost(KernelClass::Int16Gemm).is_some());
    assert!(d.runs_on(&["avx2", "fma"]));
    assert_eq!(d.probe().is_ok(), std::arch::is_x86_feature_detected!("avx2"));
    assert!(registry::problems().is_empty(), "{:?}", registry::problems());
}

/// A binary that names the crate has every kernel it declares, sorted by name (the linker
/// keeps registrations only of crates something names; the conformance suites run inside
/// the crate's own test build).
#[test]
fn registers_every_kernel() {
    let names: Vec<&str> = registry::kernels_of("x86-avx2").iter().map(|k| k.name).collect();
    assert_eq!(
        names,
        [
            "avx2_add_s8",
            "avx2_add_u8",
            "avx2_dequantize_s8",
            "avx2_dequantize_u8",
            "avx2_dw_i16_16",
            "avx2_dw_s8i16_16",
            "avx2_dw_s8s8_16",
            "avx2_dw_s8u8_16",
            "avx2_dw_u8i16_16",
            "avx2_dw_u8s8_16",
            "avx2_dw_u8u8_16",
            "avx2_gemm_i16_5x16",
            "avx2_gemm_i16_6x16",
            "avx2_gemm_s8i16_4x16",
            "avx2_gemm_s8s8_4x16",
            "avx2_gemm_s8s8_widen_6x16",
            "avx2_gemm_s8u8_4x16",
            "avx2_gemm_u8i16_4x16",
            "avx2_gemm_u8i16_4x24",
            "avx2_gemm_u8i16_maddubs_6x16",
            "avx2_gemm_u8i16_s8w_1x64",
            "avx2_gemm_u8s8_4x16",
            "avx2_gemm_u8s8_4x24",
            "avx2_gemm_u8s8_maddubs_6x16",
            "avx2_gemm_u8s8_s8w_1x64",
            "avx2_gemm_u8s8_widen_5x16",
            "avx2_gemm_u8s8_widen_6x16",
            "avx2_gemm_u8u8_4x16",
            "avx2_gemm_u8u8_widen_6x16",
            "avx2_lookup_s8s8",
            "avx2_lookup_s8u8",
            "avx2_lookup_u8s8",
            "avx2_lookup_u8u8",
            "avx2_pool_avg_s8",
            "avx2_pool_avg_u8",
            "avx2_pool_max_s8",
            "avx2_pool_max_u8",
            "avx2_pool_sum_s8",
            "avx2_pool_sum_u8",
            "avx2_quantize_s8",
            "avx2_quantize_u8",
            "avx2_transpose_dequantize_s8",
            "avx2_transpose_dequantize_u8",
            "avx2_transpose_quantize_s8",
            "avx2_transpose_quantize_u8",
            "avx2_transpose_x32",
            "avx2_transpose_x8",
        ]
    );
    assert!(registry::kernels_of("x86-avx2").iter().all(|k| k.backend == "x86-avx2"));
}

/// Weights whose pair sums could saturate `vpmaddubsw` are refused at planning (the
/// runtime then takes the widening kernel); weights within the bound are accepted.
#[test]
fn maddubs_refuses_weights_that_could_saturate() {
    let entry = registry::kernels_of("x86-avx2")
        .into_iter()
        .find(|k| k.name == "avx2_gemm_u8s8_maddubs_6x16")
        .unwrap();
    if entry.probe().is_err() {
        eprintln!("SKIPPED: no AVX2 on this CPU");
        assert!(std::env::var("QNN_REQUIRE_ALL_KERNELS").map_or(true, |v| v != "1"));
        return;
    }
    let problem = ConvProblem::int8(ConvGeometry::dense(1, 4, 2), DType::U8, DType::I8, 0);
    let epilogue = EpilogueSpec::raw(vec![0]);
    // 255 · (127 + 1) = 32 640 fits; 255 · (127 + 2) = 32 895 does not.
    let fits = [127, 1, -128, 0, 64, 64, -64, -64];
    assert!(ConvPlan::new(&problem, &fits, &epilogue, entry).is_ok());
    let saturates = [127, 2, 0, 0, 0, 0, 0, 0];
    let err = ConvPlan::new(&problem, &saturates, &epilogue, entry).unwrap_err();
    assert!(matches!(err, KernelError::NotApplicable { .. }), "{err}");
    assert!(err.to_string().contains("(127, 2)"), "{err}");
    let negative = [0, 0, -128, -1, 0, 0, 0, 0];
    assert!(ConvPlan::new(&problem, &negative, &epilogue, entry).is_err());
}
