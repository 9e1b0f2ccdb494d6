//! Every kernel of `x86-avx2` against the reference interpreter (the shared conformance
//! suite of `qnn-kernels`). A CPU without AVX2 skips them loudly;
//! `QNN_REQUIRE_ALL_KERNELS=1` makes that a failure.
#![cfg(target_arch = "x86_64")]

use backend_x86_avx2 as _;
use qnn_kernels::conformance_tests;
use qnn_kernels::testing::conformance::registered;

const B: &str = "x86-avx2";

const TESTED: &[&str] = &[
    "avx2_gemm_i16_6x16",
    "avx2_gemm_i16_5x16",
    "avx2_gemm_u8s8_widen_5x16",
    "avx2_dw_i16_16",
    "avx2_gemm_u8s8_widen_6x16",
    "avx2_gemm_s8s8_widen_6x16",
    "avx2_gemm_u8u8_widen_6x16",
    "avx2_gemm_u8s8_maddubs_6x16",
    "avx2_gemm_u8i16_maddubs_6x16",
    "avx2_gemm_u8i16_4x16",
    "avx2_gemm_u8i16_4x24",
    "avx2_gemm_u8s8_4x24",
    "avx2_gemm_s8i16_4x16",
    "avx2_gemm_u8s8_4x16",
    "avx2_gemm_u8u8_4x16",
    "avx2_gemm_s8s8_4x16",
    "avx2_gemm_s8u8_4x16",
    "avx2_gemm_u8i16_s8w_1x64",
    "avx2_gemm_u8s8_s8w_1x64",
    "avx2_dw_u8i16_16",
    "avx2_dw_s8i16_16",
    "avx2_dw_u8s8_16",
    "avx2_dw_u8u8_16",
    "avx2_dw_s8s8_16",
    "avx2_dw_s8u8_16",
];

conformance_tests!(avx2_gemm_i16_6x16, registered(B, "avx2_gemm_i16_6x16"));
conformance_tests!(avx2_dw_i16_16, registered(B, "avx2_dw_i16_16"));
conformance_tests!(avx2_gemm_u8s8_widen_6x16, registered(B, "avx2_gemm_u8s8_widen_6x16"));
conformance_tests!(avx2_gemm_s8s8_widen_6x16, registered(B, "avx2_gemm_s8s8_widen_6x16"));
conformance_tests!(avx2_gemm_u8u8_widen_6x16, registered(B, "avx2_gemm_u8u8_widen_6x16"));
// Its cases keep |w| ≤ 64 (the weight constraint); tests/maddubs.rs checks the refusal.
conformance_tests!(avx2_gemm_u8s8_maddubs_6x16, registered(B, "avx2_gemm_u8s8_maddubs_6x16"));
conformance_tests!(avx2_gemm_u8i16_maddubs_6x16, registered(B, "avx2_gemm_u8i16_maddubs_6x16"));

conformance_tests!(avx2_gemm_u8i16_4x16, registered(B, "avx2_gemm_u8i16_4x16"));
conformance_tests!(avx2_gemm_s8i16_4x16, registered(B, "avx2_gemm_s8i16_4x16"));
conformance_tests!(avx2_gemm_u8s8_4x16, registered(B, "avx2_gemm_u8s8_4x16"));
conformance_tests!(avx2_gemm_u8u8_4x16, registered(B, "avx2_gemm_u8u8_4x16"));
conformance_tests!(avx2_gemm_s8s8_4x16, registered(B, "avx2_gemm_s8s8_4x16"));
conformance_tests!(avx2_gemm_s8u8_4x16, registered(B, "avx2_gemm_s8u8_4x16"));
conformance_tests!(avx2_gemm_u8i16_s8w_1x64, registered(B, "avx2_gemm_u8i16_s8w_1x64"));
conformance_tests!(avx2_gemm_u8s8_s8w_1x64, registered(B, "avx2_gemm_u8s8_s8w_1x64"));
conformance_tests!(avx2_dw_u8i16_16, registered(B, "avx2_dw_u8i16_16"));
conformance_tests!(avx2_dw_s8i16_16, registered(B, "avx2_dw_s8i16_16"));
conformance_tests!(avx2_dw_u8s8_16, registered(B, "avx2_dw_u8s8_16"));
conformance_tests!(avx2_dw_u8u8_16, registered(B, "avx2_dw_u8u8_16"));
conformance_tests!(avx2_dw_s8s8_16, registered(B, "avx2_dw_s8s8_16"));
conformance_tests!(avx2_dw_s8u8_16, registered(B, "avx2_dw_s8u8_16"));
conformance_tests!(avx2_gemm_u8i16_4x24, registered(B, "avx2_gemm_u8i16_4x24"));
conformance_tests!(avx2_gemm_u8s8_4x24, registered(B, "avx2_gemm_u8s8_4x24"));
conformance_tests!(avx2_gemm_i16_5x16, registered(B, "avx2_gemm_i16_5x16"));
conformance_tests!(avx2_gemm_u8s8_widen_5x16, registered(B, "avx2_gemm_u8s8_widen_5x16"));

/// Every registered kernel is covered.
#[test]
fn every_registered_kernel_is_tested() {
    let mut registered: Vec<&str> =
        qnn_ir::backend::registry::kernels_of(B).iter().map(|k| k.name).collect();
    registered.sort_unstable();
    let mut tested: Vec<&str> = TESTED.to_vec();
    tested.sort_unstable();
    assert_eq!(registered, tested);
}
