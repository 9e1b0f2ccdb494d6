//! The kernel entries this backend registers.
//!
//! The int16 lowering (`…_i16_…`, operands i16 × i16; the frame also takes u8/s8 data with
//! the zero point to subtract and widens it) and the exact int8 path (`…_widen_…`: 8-bit
//! operands widened to i16 by the frame, the zero-point terms in the epilogue) share the
//! `pmaddwd` microkernels ([`gemm`], [`depthwise`]). Dense layers use the one-row tile.
//!
//! Each `kernel!` line defines the entry (named by its identifier), registers it and, in
//! this crate's test build, runs qnn's conformance suite on the registered entry.

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, DepthwiseMicrokernel, IndirectGemmMicrokernel, KernelClass, KernelEntry,
    KernelImpl, PanelLayout, WeightConstraint,
};
use qnn_kernels::kernel;

use crate::descriptor::{NAME, probe};
use crate::{depthwise, gemm};

/// The entry of a `pmaddwd` tile of `MR` rows and `4 · NV` columns (`kernel!` sets its name).
const fn gemm_i16<const MR: usize, const NV: usize, const NR: usize>(
    class: KernelClass,
    operands: (DType, DType),
) -> KernelEntry {
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: "",
        class,
        operands,
        imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
            mr: MR,
            nr: NR,
            kr: 2,
            packed: (DType::I16, DType::I16),
            layout: PanelLayout::Interleaved,
            fused_epilogue: true,
            strip: false,
            constraint: WeightConstraint::None,
            probe,
            run: gemm::gemm_i16::<MR, NV, NR>,
        }),
    }
}

/// The entry of the `pmaddwd` depthwise kernel (block 8, `kr` 2).
const fn depthwise_i16(class: KernelClass, operands: (DType, DType)) -> KernelEntry {
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: "",
        class,
        operands,
        imp: KernelImpl::Depthwise(DepthwiseMicrokernel {
            block: depthwise::BLOCK,
            kr: 2,
            packed: (DType::I16, DType::I16),
            probe,
            run: depthwise::depthwise_i16,
        }),
    }
}

const I16: (DType, DType) = (DType::I16, DType::I16);
const U8S8: (DType, DType) = (DType::U8, DType::I8);
const S8S8: (DType, DType) = (DType::I8, DType::I8);
const U8U8: (DType, DType) = (DType::U8, DType::U8);

use KernelClass::{Int8Depthwise, Int8Gemm, Int16Depthwise, Int16Gemm};

kernel!(conv sse41_gemm_i16_4x8 = gemm_i16::<4, 2, 8>(Int16Gemm, I16));
kernel!(conv sse41_gemm_i16_1x16 = gemm_i16::<1, 4, 16>(Int16Gemm, I16));
kernel!(conv sse41_gemm_u8s8_widen_4x8 = gemm_i16::<4, 2, 8>(Int8Gemm, U8S8));
kernel!(conv sse41_gemm_u8s8_widen_1x16 = gemm_i16::<1, 4, 16>(Int8Gemm, U8S8));
kernel!(conv sse41_gemm_s8s8_widen_4x8 = gemm_i16::<4, 2, 8>(Int8Gemm, S8S8));
kernel!(conv sse41_gemm_u8u8_widen_4x8 = gemm_i16::<4, 2, 8>(Int8Gemm, U8U8));
kernel!(conv sse41_dw_i16_8 = depthwise_i16(Int16Depthwise, I16));
kernel!(conv sse41_dw_u8s8_widen_8 = depthwise_i16(Int8Depthwise, U8S8));
