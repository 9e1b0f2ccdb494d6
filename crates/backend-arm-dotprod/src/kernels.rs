//! The kernel entries of `arm-dotprod` (aarch64 builds only).
//!
//! * dotprod (`sdot`/`udot`): `dotprod_gemm_{s8s8,u8u8}_4x16c4` (conv, 1×1, first layers),
//!   `dotprod_gemm_{s8s8,u8u8}_1x32c4` (dense with one row), `dotprod_dw_{s8s8,u8u8}_16`;
//! * i8mm (`smmla`/`ummla`, probed separately): `i8mm_gemm_{s8s8,u8u8}_6x16c8`.
//!
//! Operand pairs are those of the instructions (s8×s8, u8×u8): the legalizer shifts u8×s8
//! layers to one of them exactly (ARCHITECTURE.md §4, dtype legalization).
//!
//! Each `kernel!` line defines the entry (named by its identifier), registers it and, in
//! this crate's test build, runs the shared conformance suite on the registered entry.

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, DepthwiseArgs, DepthwiseMicrokernel, IndirectGemmArgs,
    IndirectGemmMicrokernel, KernelClass, KernelEntry, KernelImpl, PanelLayout, WeightConstraint,
};

use qnn_kernels::kernel;

use crate::descriptor::NAME;
use crate::{depthwise, gemm_dot, gemm_i8mm};

/// The CPU features of the i8mm kernels (beyond the descriptor's dotprod).
pub fn probe_i8mm() -> Result<(), String> {
    qnn_kernels::cpu_probe!(aarch64, "arm-dotprod", "smmla/ummla, Armv8.6 FEAT_I8MM": "i8mm")
}

const fn gemm(
    operands: (DType, DType),
    (mr, nr, kr): (usize, usize, usize),
    probe: fn() -> Result<(), String>,
    run: unsafe fn(&IndirectGemmArgs<'_>),
) -> KernelEntry {
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: "",
        class: KernelClass::Int8Gemm,
        operands,
        imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
            mr,
            nr,
            kr,
            packed: operands,
            layout: PanelLayout::Interleaved,
            fused_epilogue: true,
            strip: false,
            constraint: WeightConstraint::None,
            probe,
            run,
        }),
    }
}

const fn dw(operands: (DType, DType), run: unsafe fn(&DepthwiseArgs<'_>)) -> KernelEntry {
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: "",
        class: KernelClass::Int8Depthwise,
        operands,
        imp: KernelImpl::Depthwise(DepthwiseMicrokernel {
            block: depthwise::BLOCK,
            kr: 4,
            packed: operands,
            probe: crate::descriptor::probe,
            run,
        }),
    }
}

const S8S8: (DType, DType) = (DType::I8, DType::I8);
const U8U8: (DType, DType) = (DType::U8, DType::U8);
use crate::descriptor::probe as dotprod;

kernel!(
    conv dotprod_gemm_s8s8_4x16c4 =
        gemm(S8S8, (4, 16, 4), dotprod, gemm_dot::dotprod_gemm_s8s8_4x16c4)
);
kernel!(
    conv dotprod_gemm_u8u8_4x16c4 =
        gemm(U8U8, (4, 16, 4), dotprod, gemm_dot::dotprod_gemm_u8u8_4x16c4)
);
kernel!(
    conv dotprod_gemm_s8s8_1x32c4 =
        gemm(S8S8, (1, 32, 4), dotprod, gemm_dot::dotprod_gemm_s8s8_1x32c4)
);
kernel!(
    conv dotprod_gemm_u8u8_1x32c4 =
        gemm(U8U8, (1, 32, 4), dotprod, gemm_dot::dotprod_gemm_u8u8_1x32c4)
);
kernel!(
    conv i8mm_gemm_s8s8_6x16c8 =
        gemm(S8S8, (6, 16, 8), probe_i8mm, gemm_i8mm::i8mm_gemm_s8s8_6x16c8)
);
kernel!(
    conv i8mm_gemm_u8u8_6x16c8 =
        gemm(U8U8, (6, 16, 8), probe_i8mm, gemm_i8mm::i8mm_gemm_u8u8_6x16c8)
);
kernel!(conv dotprod_dw_s8s8_16 = dw(S8S8, depthwise::dotprod_dw_s8s8_16));
kernel!(conv dotprod_dw_u8u8_16 = dw(U8U8, depthwise::dotprod_dw_u8u8_16));
