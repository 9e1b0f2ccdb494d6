//! The kernel entries this backend registers.
//!
//! Tiles (rows × columns): 6×64, 8×48 and 8×32 cover the channel counts of common layers
//! with little padding (64·k, 48·k, 32·k); 8×16 the 16-channel ones (MobileNetV2's first
//! projection, 112×112×32 → 16: 0.16 ms on the AVX-VNNI ymm 6×16 tile, 0.073 ms on this
//! one, both 1 thread). Tiles have at most 8 rows (the 32-column one had 12): then short
//! reductions run fully unrolled and the row pointers stay in registers (MobileNetV2, 1
//! thread: first layer 0.167 → 0.155 ms, 960→160 projection 0.032 → 0.024 ms; ResNet's
//! 3×3 32→32 the same). 1×128 is the dense path (one row, many columns: a weight stream
//! with 8 independent accumulator chains). First layers (C = 3) run on the same tiles: the
//! frame merges each kernel row into one tap of `kw·C` contiguous bytes.
//!
//! Each `kernel!` line defines the entry (named by its identifier), registers it and, in
//! this crate's test build, runs the shared conformance suite on the registered entry (the
//! AVX-512 ones are skipped, loudly, on a CPU without AVX-512).

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, DepthwiseMicrokernel, IndirectGemmMicrokernel, KernelClass, KernelEntry,
    KernelImpl, PanelLayout, WeightConstraint,
};

use qnn_kernels::kernel;

use crate::descriptor::NAME;
use crate::{avx512, avxvnni};

/// An entry of a `vpdpbusd` GEMM tile of ISA module `$isa` (its name is set by `kernel!`).
macro_rules! gemm_entry {
    ($isa:ident, $mr:literal, $nv:literal, $nr:literal) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
            class: KernelClass::Int8Gemm,
            operands: (DType::U8, DType::I8),
            imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
                mr: $mr,
                nr: $nr,
                kr: 4,
                packed: (DType::U8, DType::I8),
                layout: PanelLayout::Interleaved,
                fused_epilogue: true,
                strip: false,
                constraint: WeightConstraint::None,
                probe: $isa::probe,
                run: $isa::gemm::gemm::<$mr, $nv, $nr>,
            }),
        }
    };
}

kernel!(conv vnni_gemm_u8s8_6x64 = gemm_entry!(avx512, 6, 4, 64));
kernel!(conv vnni_gemm_u8s8_8x48 = gemm_entry!(avx512, 8, 3, 48));
kernel!(conv vnni_gemm_u8s8_8x32 = gemm_entry!(avx512, 8, 2, 32));
kernel!(conv vnni_gemm_u8s8_1x128 = gemm_entry!(avx512, 1, 8, 128));
kernel!(conv vnni_gemm_u8s8_8x16 = gemm_entry!(avx512, 8, 1, 16));
kernel!(conv avxvnni_gemm_u8s8_6x16 = gemm_entry!(avxvnni, 6, 2, 16));
kernel!(conv avxvnni_gemm_u8s8_1x64 = gemm_entry!(avxvnni, 1, 8, 64));
kernel!(
    conv vnni_dw_u8s8_64 = KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: "",
        class: KernelClass::Int8Depthwise,
        operands: (DType::U8, DType::I8),
        imp: KernelImpl::Depthwise(DepthwiseMicrokernel {
            block: avx512::depthwise::BLOCK,
            kr: 4,
            packed: (DType::U8, DType::I8),
            probe: avx512::probe,
            run: avx512::depthwise::depthwise,
        }),
    }
);
