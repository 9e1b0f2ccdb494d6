//! Every kernel of `arm-dotprod` against the reference interpreter (the shared conformance
//! suite of `qnn-kernels`). Under `QEMU_CPU=cortex-a53` every kernel is skipped (no dotprod),
//! under `neoverse-n1` the i8mm ones are, under `max` none: loudly, and
//! `QNN_REQUIRE_ALL_KERNELS=1` makes a skip a failure.
#![cfg(target_arch = "aarch64")]

use backend_arm_dotprod as _;
use qnn_kernels::conformance_tests;
use qnn_kernels::testing::conformance::registered;

const B: &str = "arm-dotprod";

conformance_tests!(dotprod_gemm_s8s8_4x16c4, registered(B, "dotprod_gemm_s8s8_4x16c4"));
conformance_tests!(dotprod_gemm_u8u8_4x16c4, registered(B, "dotprod_gemm_u8u8_4x16c4"));
conformance_tests!(dotprod_gemm_s8s8_1x32c4, registered(B, "dotprod_gemm_s8s8_1x32c4"));
conformance_tests!(dotprod_gemm_u8u8_1x32c4, registered(B, "dotprod_gemm_u8u8_1x32c4"));
conformance_tests!(i8mm_gemm_s8s8_6x16c8, registered(B, "i8mm_gemm_s8s8_6x16c8"));
conformance_tests!(i8mm_gemm_u8u8_6x16c8, registered(B, "i8mm_gemm_u8u8_6x16c8"));
conformance_tests!(dotprod_dw_s8s8_16, registered(B, "dotprod_dw_s8s8_16"));
conformance_tests!(dotprod_dw_u8u8_16, registered(B, "dotprod_dw_u8u8_16"));

/// The list above covers every registered kernel.
#[test]
fn every_registered_kernel_is_tested() {
    let mut tested = vec![
        "dotprod_gemm_s8s8_4x16c4",
        "dotprod_gemm_u8u8_4x16c4",
        "dotprod_gemm_s8s8_1x32c4",
        "dotprod_gemm_u8u8_1x32c4",
        "i8mm_gemm_s8s8_6x16c8",
        "i8mm_gemm_u8u8_6x16c8",
        "dotprod_dw_s8s8_16",
        "dotprod_dw_u8u8_16",
    ];
    tested.sort_unstable();
    let registered: Vec<&str> =
        qnn_ir::backend::registry::kernels_of(B).iter().map(|k| k.name).collect();
    assert_eq!(registered, tested);
}
