//! The kernel entries of `arm-neon` (aarch64 builds only).
//!
//! * int16 lowering: `neon_gemm_i16_4x16` (conv, 1×1, first layers: XNNPACK's A53 tile),
//!   `neon_gemm_i16_1x32` (dense with one row), `neon_dw_i16_16` (depthwise);
//! * int8 lowering without a dot product, exact: `neon_gemm_s8s8_4x4c16_mlal` (`smull` +
//!   `smlal2` + `sadalp`, for weights without −128), `neon_gemm_s8s8_4x4c16_sadalp` and
//!   `neon_gemm_u8u8_4x4c16` (`smull`/`umull` + pairwise widening adds, any weights),
//!   `neon_dw_{s8s8,u8u8}_16`. The two s8×s8 GEMMs cost the same to the frame's estimate,
//!   so `ConvPlan::best` tries them in name order: `_mlal` first, `_sadalp` when the
//!   weights hold −128.
//!
//! The s8×s8 and u8×u8 operand pairs are those of Arm's dot products, so a graph legalized
//! for `arm-dotprod` also runs here (the comparison the int16 lowering is measured against).
//!
//! Each `kernel!` line defines the entry (named by its identifier; the helpers below fill in
//! the other fields), registers it and, in this crate's test build, runs the shared
//! conformance suite on the registered entry.

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, DepthwiseArgs, DepthwiseMicrokernel, IndirectGemmArgs,
    IndirectGemmMicrokernel, KernelClass, KernelEntry, KernelImpl, PanelLayout, WeightConstraint,
};

use KernelClass::{Int8Depthwise, Int8Gemm, Int16Depthwise, Int16Gemm};
use qnn_kernels::kernel;

use crate::descriptor::{NAME, probe};
use crate::{depthwise, gemm_i8, gemm_i16};

const fn gemm(
    class: KernelClass,
    operands: (DType, DType),
    tile: (usize, usize, usize),
    run: unsafe fn(&IndirectGemmArgs<'_>),
) -> KernelEntry {
    constrained(class, operands, tile, WeightConstraint::None, run)
}

const fn constrained(
    class: KernelClass,
    operands: (DType, DType),
    (mr, nr, kr): (usize, usize, usize),
    constraint: WeightConstraint,
    run: unsafe fn(&IndirectGemmArgs<'_>),
) -> KernelEntry {
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: "",
        class,
        operands,
        imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
            mr,
            nr,
            kr,
            packed: operands,
            layout: PanelLayout::Interleaved,
            fused_epilogue: true,
            strip: false,
            constraint,
            probe,
            run,
        }),
    }
}

const fn dw(
    class: KernelClass,
    operands: (DType, DType),
    run: unsafe fn(&DepthwiseArgs<'_>),
) -> KernelEntry {
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: "",
        class,
        operands,
        imp: KernelImpl::Depthwise(DepthwiseMicrokernel {
            block: depthwise::BLOCK,
            kr: 1,
            packed: operands,
            probe,
            run,
        }),
    }
}

const I16: (DType, DType) = (DType::I16, DType::I16);
const S8S8: (DType, DType) = (DType::I8, DType::I8);
const U8U8: (DType, DType) = (DType::U8, DType::U8);

kernel!(conv neon_gemm_i16_4x16 = gemm(Int16Gemm, I16, (4, 16, 1), gemm_i16::neon_gemm_i16_4x16));
kernel!(conv neon_gemm_i16_1x32 = gemm(Int16Gemm, I16, (1, 32, 1), gemm_i16::neon_gemm_i16_1x32));
kernel!(
    conv neon_gemm_s8s8_4x4c16_sadalp =
        gemm(Int8Gemm, S8S8, (4, 4, 16), gemm_i8::neon_gemm_s8s8_4x4c16_sadalp)
);
kernel!(
    conv neon_gemm_u8u8_4x4c16 = gemm(Int8Gemm, U8U8, (4, 4, 16), gemm_i8::neon_gemm_u8u8_4x4c16)
);
kernel!(
    conv neon_gemm_s8s8_4x4c16_mlal = constrained(
        Int8Gemm,
        S8S8,
        (4, 4, 16),
        WeightConstraint::S8S8PairSumFitsI16,
        gemm_i8::neon_gemm_s8s8_4x4c16_mlal,
    )
);
kernel!(conv neon_dw_i16_16 = dw(Int16Depthwise, I16, depthwise::neon_dw_i16_16));
kernel!(conv neon_dw_s8s8_16 = dw(Int8Depthwise, S8S8, depthwise::neon_dw_s8s8_16));
kernel!(conv neon_dw_u8u8_16 = dw(Int8Depthwise, U8U8, depthwise::neon_dw_u8u8_16));
