//! The conformance suite on the scalar test kernels: the frame itself (packing, indirection,
//! both tap modes, the packed-panel path, grouping, threading, every epilogue) against the
//! reference interpreter.

use qnn_kernels::conformance_tests;
use qnn_kernels::scalar::kernel;

conformance_tests!(gemm_u8s8_4x4_raw, kernel("scalar_gemm_u8s8_4x4_raw").unwrap());
conformance_tests!(panel_gemm_u8s8_3x5, kernel("scalar_panel_gemm_u8s8_3x5").unwrap());
conformance_tests!(gemm_u8s8_3x8_k4, kernel("scalar_gemm_u8s8_3x8_k4").unwrap());
conformance_tests!(gemm_s8s8_4x4, kernel("scalar_gemm_s8s8_4x4").unwrap());
conformance_tests!(gemm_u8u8_2x4_k4, kernel("scalar_gemm_u8u8_2x4_k4").unwrap());
conformance_tests!(gemm_i16_4x4_k2, kernel("scalar_gemm_i16_4x4_k2").unwrap());
conformance_tests!(gemm_i16_1x8_raw, kernel("scalar_gemm_i16_1x8_raw").unwrap());
conformance_tests!(dw_u8s8_8, kernel("scalar_dw_u8s8_8").unwrap());
conformance_tests!(dw_u8s8_8_k4, kernel("scalar_dw_u8s8_8_k4").unwrap());
conformance_tests!(dw_i16_8_k2, kernel("scalar_dw_i16_8_k2").unwrap());
