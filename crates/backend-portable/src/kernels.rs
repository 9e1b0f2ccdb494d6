//! The kernels of `portable`: the scalar microkernels of `qnn_kernels::scalar` for every
//! operand pair the legalizer emits — u8/i8 × u8/i8 for the int8 lowering, i16 × i16 for the
//! int16 one — as GEMM tiles (conv, 1×1, dense) and depthwise kernels.
//!
//! Each `kernel!` line defines the entry (named by its identifier), registers it and, in this
//! crate's test build, runs the shared conformance suite on the registered entry.

use qnn_ir::backend::KernelClass::{Int8Depthwise, Int8Gemm, Int16Depthwise, Int16Gemm};
use qnn_kernels::kernel;
use qnn_kernels::scalar::{I8, I16, U8, depthwise_entry, gemm_entry};

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
