//! The conformance suites of the kernels around convolutions on the scalar test kernels:
//! the frame itself (pooling windows and their padding, channel slices, element-wise
//! chunks, transpose tiles, threading) against the reference interpreter.

use qnn_kernels::scalar::data_kernel;
use qnn_kernels::{
    elementwise_conformance_tests, pool_conformance_tests, transpose_conformance_tests,
};

pool_conformance_tests!(pool_max_i8, data_kernel("scalar_pool_max_i8").unwrap());
pool_conformance_tests!(pool_avg_u8, data_kernel("scalar_pool_avg_u8").unwrap());
pool_conformance_tests!(pool_sum_i8, data_kernel("scalar_pool_sum_i8").unwrap());
elementwise_conformance_tests!(add_u8, data_kernel("scalar_add_u8").unwrap());
elementwise_conformance_tests!(lookup_s8u8, data_kernel("scalar_lookup_s8u8").unwrap());
elementwise_conformance_tests!(quantize_s8, data_kernel("scalar_quantize_s8").unwrap());
elementwise_conformance_tests!(dequantize_u8, data_kernel("scalar_dequantize_u8").unwrap());
transpose_conformance_tests!(transpose_x16, data_kernel("scalar_transpose_x16").unwrap());
transpose_conformance_tests!(
    transpose_quantize_u8,
    data_kernel("scalar_transpose_quantize_u8").unwrap()
);
transpose_conformance_tests!(
    transpose_dequantize_s8,
    data_kernel("scalar_transpose_dequantize_s8").unwrap()
);
