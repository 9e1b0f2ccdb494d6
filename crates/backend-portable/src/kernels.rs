//! The kernels of `portable`: the scalar microkernels of `qnn_kernels::scalar` for every
//! operand pair the legalizer emits — u8/i8 × u8/i8 for the int8 lowering, i16 × i16 for the
//! int16 one — as GEMM tiles (conv, 1×1, dense) and depthwise kernels; and for the ops
//! around convolutions: max, f32-average and i32-sum pooling of u8 and i8 data, ONNX
//! Runtime's `QLinearAdd` (u8 + u8 → u8, i8 + i8 → i8), table lookups between the 8-bit types,
//! `QuantizeLinear` / `DequantizeLinear`, and the layout transposes (1-, 2- and 4-byte elements,
//! or quantizing f32 / dequantizing to f32 on the way).
//!
//! Each `kernel!` line defines the entry (named by its identifier), registers it and, in this
//! crate's test build, runs the shared conformance suite on the registered entry.

use qnn_ir::DType;
use qnn_ir::backend::KernelClass::{Int8Depthwise, Int8Gemm, Int16Depthwise, Int16Gemm};
use qnn_kernels::kernel;
use qnn_kernels::scalar::{
    I8, I16, U8, depthwise_entry, dequantize_entry, gemm_entry, lookup_entry, pool_average_entry,
    pool_max_entry, pool_sum_entry, qlinear_add_entry, quantize_entry, transpose_dequantize_entry,
    transpose_entry, transpose_quantize_entry,
};

use crate::descriptor::NAME;

kernel!(conv portable_gemm_u8s8_4x8 = gemm_entry::<U8, I8, 4, 8, 1>(NAME, Int8Gemm, true));
kernel!(conv portable_gemm_u8u8_4x8 = gemm_entry::<U8, U8, 4, 8, 1>(NAME, Int8Gemm, true));
kernel!(conv portable_gemm_s8s8_4x8 = gemm_entry::<I8, I8, 4, 8, 1>(NAME, Int8Gemm, true));
kernel!(conv portable_gemm_s8u8_4x8 = gemm_entry::<I8, U8, 4, 8, 1>(NAME, Int8Gemm, true));
kernel!(conv portable_gemm_i16_4x8 = gemm_entry::<I16, I16, 4, 8, 1>(NAME, Int16Gemm, true));
kernel!(conv portable_dw_u8s8_8 = depthwise_entry::<U8, I8, 8, 1>(NAME, Int8Depthwise));
kernel!(conv portable_dw_u8u8_8 = depthwise_entry::<U8, U8, 8, 1>(NAME, Int8Depthwise));
kernel!(conv portable_dw_s8s8_8 = depthwise_entry::<I8, I8, 8, 1>(NAME, Int8Depthwise));
kernel!(conv portable_dw_s8u8_8 = depthwise_entry::<I8, U8, 8, 1>(NAME, Int8Depthwise));
kernel!(conv portable_dw_i16_8 = depthwise_entry::<I16, I16, 8, 1>(NAME, Int16Depthwise));

kernel!(pool portable_pool_max_u8 = pool_max_entry::<U8>(NAME));
kernel!(pool portable_pool_max_s8 = pool_max_entry::<I8>(NAME));
kernel!(pool portable_pool_avg_u8 = pool_average_entry::<U8, U8>(NAME));
kernel!(pool portable_pool_avg_s8 = pool_average_entry::<I8, I8>(NAME));
kernel!(pool portable_pool_sum_u8 = pool_sum_entry::<U8>(NAME));
kernel!(pool portable_pool_sum_s8 = pool_sum_entry::<I8>(NAME));

kernel!(elementwise portable_add_u8 = qlinear_add_entry::<U8, U8, U8>(NAME));
kernel!(elementwise portable_add_s8 = qlinear_add_entry::<I8, I8, I8>(NAME));
kernel!(elementwise portable_lookup_u8u8 = lookup_entry::<U8, U8>(NAME));
kernel!(elementwise portable_lookup_s8s8 = lookup_entry::<I8, I8>(NAME));
kernel!(elementwise portable_lookup_u8s8 = lookup_entry::<U8, I8>(NAME));
kernel!(elementwise portable_lookup_s8u8 = lookup_entry::<I8, U8>(NAME));
kernel!(elementwise portable_quantize_u8 = quantize_entry::<U8>(NAME));
kernel!(elementwise portable_quantize_s8 = quantize_entry::<I8>(NAME));
kernel!(elementwise portable_dequantize_u8 = dequantize_entry::<U8>(NAME));
kernel!(elementwise portable_dequantize_s8 = dequantize_entry::<I8>(NAME));

// Without a conversion a transpose moves any dtype of its element size.
kernel!(transpose portable_transpose_x8 = transpose_entry(NAME, DType::U8));
kernel!(transpose portable_transpose_x16 = transpose_entry(NAME, DType::I16));
kernel!(transpose portable_transpose_x32 = transpose_entry(NAME, DType::I32));
kernel!(transpose portable_transpose_quantize_u8 = transpose_quantize_entry::<U8>(NAME));
kernel!(transpose portable_transpose_quantize_s8 = transpose_quantize_entry::<I8>(NAME));
kernel!(transpose portable_transpose_dequantize_u8 = transpose_dequantize_entry::<U8>(NAME));
kernel!(transpose portable_transpose_dequantize_s8 = transpose_dequantize_entry::<I8>(NAME));
