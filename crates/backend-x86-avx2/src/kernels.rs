//! The kernel entries this backend registers.
//!
//! The int16 lowering (`…_i16_…`, operands i16 × i16; the frame also takes u8/s8 data with
//! the zero point to subtract and widens it) and the exact int8 path (`…_widen_…`: 8-bit
//! operands widened to i16 by the frame, the zero-point terms in the epilogue) share the
//! `vpmaddwd` microkernels. `…_maddubs_…` is the u8 × s8 kernel on `vpmaddubsw`, which the
//! frame accepts only for weights whose pair sums provably fit i16.

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, DepthwiseMicrokernel, IndirectGemmMicrokernel, KernelClass, KernelEntry,
    KernelImpl, PanelLayout, WeightConstraint,
};

use crate::descriptor::{NAME, probe};
use crate::{depthwise, gemm};

macro_rules! gemm_i16 {
    ($name:literal, $class:ident, $operands:expr, $mr:literal, $nv:literal, $nr:literal) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: $name,
            class: KernelClass::$class,
            operands: $operands,
            imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
                mr: $mr,
                nr: $nr,
                kr: 2,
                packed: (DType::I16, DType::I16),
                layout: PanelLayout::Interleaved,
                fused_epilogue: true,
                strip: false,
                constraint: WeightConstraint::None,
                probe,
                run: gemm::gemm_i16::<$mr, $nv, $nr>,
            }),
        }
    };
}

macro_rules! depthwise_i16 {
    ($name:literal, $class:ident, $operands:expr) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: $name,
            class: KernelClass::$class,
            operands: $operands,
            imp: KernelImpl::Depthwise(DepthwiseMicrokernel {
                block: depthwise::BLOCK,
                kr: 2,
                packed: (DType::I16, DType::I16),
                probe,
                run: depthwise::depthwise_i16,
            }),
        }
    };
}

const I16: (DType, DType) = (DType::I16, DType::I16);
const U8S8: (DType, DType) = (DType::U8, DType::I8);
const S8S8: (DType, DType) = (DType::I8, DType::I8);
const U8U8: (DType, DType) = (DType::U8, DType::U8);

/// Every kernel of the backend.
pub const KERNELS: &[KernelEntry] = &[
    gemm_i16!("avx2_gemm_i16_6x16", Int16Gemm, I16, 6, 2, 16),
    gemm_i16!("avx2_gemm_i16_1x32", Int16Gemm, I16, 1, 4, 32),
    depthwise_i16!("avx2_dw_i16_16", Int16Depthwise, I16),
    gemm_i16!("avx2_gemm_u8s8_widen_6x16", Int8Gemm, U8S8, 6, 2, 16),
    gemm_i16!("avx2_gemm_u8s8_widen_1x32", Int8Gemm, U8S8, 1, 4, 32),
    gemm_i16!("avx2_gemm_s8s8_widen_6x16", Int8Gemm, S8S8, 6, 2, 16),
    gemm_i16!("avx2_gemm_u8u8_widen_6x16", Int8Gemm, U8U8, 6, 2, 16),
    depthwise_i16!("avx2_dw_u8s8_widen_16", Int8Depthwise, U8S8),
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: "avx2_gemm_u8s8_maddubs_6x16",
        class: KernelClass::Int8Gemm,
        operands: U8S8,
        imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
            mr: 6,
            nr: 16,
            kr: 4,
            packed: (DType::U8, DType::I8),
            layout: PanelLayout::Interleaved,
            fused_epilogue: true,
            strip: false,
            constraint: WeightConstraint::U8S8PairSumFitsI16,
            probe,
            run: gemm::gemm_u8s8_maddubs::<6, 2, 16>,
        }),
    },
];

inventory::submit! { KERNELS[0] }
inventory::submit! { KERNELS[1] }
inventory::submit! { KERNELS[2] }
inventory::submit! { KERNELS[3] }
inventory::submit! { KERNELS[4] }
inventory::submit! { KERNELS[5] }
inventory::submit! { KERNELS[6] }
inventory::submit! { KERNELS[7] }
inventory::submit! { KERNELS[8] }
