//! The weight constraint of `neon_gemm_s8s8_4x4c16_mlal` at planning, and the frame's
//! fallback to the unconstrained kernel (the conformance suites of every kernel run in the
//! crate's own test build, declared with `qnn_kernels::kernel!`).
#![cfg(target_arch = "aarch64")]

use backend_arm_neon as _;
use qnn_kernels::testing::conformance::registered;

const B: &str = "arm-neon";

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
