//! Every kernel of `arm-neon` against the reference interpreter (the shared conformance suite
//! of `qnn-kernels`), under whatever CPU runs the tests (qemu's `QEMU_CPU` here). Kernels the
//! CPU cannot run are skipped loudly; `QNN_REQUIRE_ALL_KERNELS=1` makes a skip a failure.
#![cfg(target_arch = "aarch64")]

use backend_arm_neon as _;
use qnn_kernels::conformance_tests;
use qnn_kernels::testing::conformance::registered;

const B: &str = "arm-neon";

conformance_tests!(neon_gemm_i16_4x16, registered(B, "neon_gemm_i16_4x16"));
conformance_tests!(neon_gemm_i16_1x32, registered(B, "neon_gemm_i16_1x32"));
conformance_tests!(neon_gemm_s8s8_4x4c16_sadalp, registered(B, "neon_gemm_s8s8_4x4c16_sadalp"));
conformance_tests!(neon_gemm_u8u8_4x4c16, registered(B, "neon_gemm_u8u8_4x4c16"));
conformance_tests!(neon_gemm_s8s8_4x4c16_mlal, registered(B, "neon_gemm_s8s8_4x4c16_mlal"));
conformance_tests!(neon_dw_i16_16, registered(B, "neon_dw_i16_16"));
conformance_tests!(neon_dw_s8s8_16, registered(B, "neon_dw_s8s8_16"));
conformance_tests!(neon_dw_u8u8_16, registered(B, "neon_dw_u8u8_16"));

/// The list above covers every registered kernel.
#[test]
fn every_registered_kernel_is_tested() {
    let mut tested = vec![
        "neon_gemm_i16_4x16",
        "neon_gemm_i16_1x32",
        "neon_gemm_s8s8_4x4c16_sadalp",
        "neon_gemm_u8u8_4x4c16",
        "neon_gemm_s8s8_4x4c16_mlal",
        "neon_dw_i16_16",
        "neon_dw_s8s8_16",
        "neon_dw_u8u8_16",
    ];
    tested.sort_unstable();
    let registered: Vec<&str> =
        qnn_ir::backend::registry::kernels_of(B).iter().map(|k| k.name).collect();
    assert_eq!(registered, tested);
}

/// The `_mlal` kernel is refused for weights with −128, whose pair sums could wrap; the
/// frame's `ConvPlan::best` then falls back to `_sadalp`, and takes `_mlal` otherwise.
#[test]
fn mlal_kernel_refuses_minus_128_and_best_falls_back() {
    use qnn_ir::DType;
    use qnn_kernels::{ConvGeometry, ConvPlan, ConvProblem, EpilogueSpec, KernelError};
    let entry = registered(B, "neon_gemm_s8s8_4x4c16_mlal");
    let problem = ConvProblem::int8(ConvGeometry::dense(2, 20, 3), DType::I8, DType::I8, -128);
    let epilogue = EpilogueSpec::raw(vec![0; 3]);
    let kernels = || qnn_ir::backend::registry::kernels_of(B);
    let mut weights = vec![-127; 60];
    assert!(ConvPlan::new(&problem, &weights, &epilogue, entry).is_ok());
    let best = ConvPlan::best(&problem, &weights, &epilogue, kernels()).unwrap();
    assert_eq!(best.kernel_name(), "neon_gemm_s8s8_4x4c16_mlal");
    weights[17] = -128;
    let err = ConvPlan::new(&problem, &weights, &epilogue, entry).unwrap_err();
    assert!(
        matches!(&err, KernelError::NotApplicable { why, .. } if why.contains("−128")),
        "{err}"
    );
    let best = ConvPlan::best(&problem, &weights, &epilogue, kernels()).unwrap();
    assert_eq!(best.kernel_name(), "neon_gemm_s8s8_4x4c16_sadalp");
}
