//! Every kernel of `x86-vnni` against the reference interpreter (the shared conformance
//! suite of `qnn-kernels`). Kernels this CPU cannot run are skipped loudly;
//! `QNN_REQUIRE_ALL_KERNELS=1` makes a skip a failure.
#![cfg(target_arch = "x86_64")]

use backend_x86_vnni as _;
use qnn_kernels::conformance_tests;
use qnn_kernels::testing::conformance::registered;

const B: &str = "x86-vnni";

conformance_tests!(vnni_gemm_u8s8_6x64, registered(B, "vnni_gemm_u8s8_6x64"));
conformance_tests!(vnni_gemm_u8s8_8x48, registered(B, "vnni_gemm_u8s8_8x48"));
conformance_tests!(vnni_gemm_u8s8_8x32, registered(B, "vnni_gemm_u8s8_8x32"));
conformance_tests!(vnni_gemm_u8s8_1x128, registered(B, "vnni_gemm_u8s8_1x128"));
conformance_tests!(vnni_gemm_u8s8_8x16, registered(B, "vnni_gemm_u8s8_8x16"));
conformance_tests!(avxvnni_gemm_u8s8_6x16, registered(B, "avxvnni_gemm_u8s8_6x16"));
conformance_tests!(avxvnni_gemm_u8s8_1x64, registered(B, "avxvnni_gemm_u8s8_1x64"));
conformance_tests!(vnni_dw_u8s8_64, registered(B, "vnni_dw_u8s8_64"));

/// The list above covers every registered kernel.
#[test]
fn every_registered_kernel_is_tested() {
    let tested = [
        "vnni_gemm_u8s8_6x64",
        "vnni_gemm_u8s8_8x48",
        "vnni_gemm_u8s8_8x32",
        "vnni_gemm_u8s8_1x128",
        "vnni_gemm_u8s8_8x16",
        "avxvnni_gemm_u8s8_6x16",
        "avxvnni_gemm_u8s8_1x64",
        "vnni_dw_u8s8_64",
    ];
    let mut registered: Vec<&str> =
        qnn_ir::backend::registry::kernels_of(B).iter().map(|k| k.name).collect();
    registered.sort_unstable();
    let mut tested = tested.to_vec();
    tested.sort_unstable();
    assert_eq!(registered, tested);
}
