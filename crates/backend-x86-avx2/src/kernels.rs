//! The kernel entries this backend registers.
//!
//! Names say the layer operands a kernel takes: `u8i16`/`s8i16` for the int16 lowering
//! (8-bit data, the zero-point-shifted weights in i16), `u8s8`, `u8u8`, `s8s8`, `s8u8` for
//! the exact int8 lowering (raw operands, the zero-point terms in the epilogue), `i16` for
//! i16 × i16.
//!
//! * `…_4x16` ([`gemm_u8`]), `avx2_dw_…_16` ([`depthwise_u8`]): 8-bit data read in place
//!   and widened in registers, for both lowerings (the frame folds the int16 lowering's
//!   data offset into the per-channel constant). `…_s8w_1x64`: the dense-layer tile, one
//!   row, s8 weights streamed (half the bytes) and widened in registers.
//! * `avx2_gemm_i16_6x16` ([`gemm::gemm_i16`]) and `…_widen_6x16`: the same `vpmaddwd` on
//!   data the frame widens into a copy first; 10 % faster per MAC, so the frame's cost
//!   estimate picks them where the copy is amortized (3×3 layers, many output channels),
//!   and the in-place kernels on 1×1 layers with few (32 → 16, 96 → 24). Measured by
//!   `cargo run --release -p qnn-benches --bin avx2_tiles`.
//! * `…_maddubs_6x16`: u8 × s8 on `vpmaddubsw` (1.2× the `vpmaddwd` rate), which the
//!   frame accepts only for weights whose pair sums provably fit i16; tried first, refused
//!   at packing otherwise. For the int16 lowering it takes symmetric weights (`W − 0` fits
//!   s8).
//!
//! Every GEMM kernel computes a whole strip of column tiles per call.
//!
//! Each `kernel!` line defines the entry (named by its identifier), registers it and, in
//! this crate's test build, runs the shared conformance suite on the registered entry.

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, DepthwiseMicrokernel, IndirectGemmMicrokernel, KernelClass, KernelEntry,
    KernelImpl, PanelLayout, WeightConstraint,
};

use qnn_kernels::kernel;

use crate::descriptor::{NAME, probe};
use crate::{depthwise, depthwise_u8, gemm, gemm_u8};

/// An entry of a `vpmaddwd` GEMM tile on i16 data (its name is set by `kernel!`).
macro_rules! gemm_i16 {
    ($class:ident, $operands:expr, $mr:literal, $nv:literal, $nr:literal) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
            class: KernelClass::$class,
            operands: $operands,
            imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
                mr: $mr,
                nr: $nr,
                kr: 2,
                packed: (DType::I16, DType::I16),
                layout: PanelLayout::Interleaved,
                fused_epilogue: true,
                strip: true,
                constraint: WeightConstraint::None,
                probe,
                run: gemm::gemm_i16::<$mr, $nv, $nr>,
            }),
        }
    };
}

/// A kernel on 8-bit data read in place (`$signed`: s8, else u8) with i16 weights in
/// registers ([`gemm_u8::gemm_u8`]); `$operands` says which layers it takes.
macro_rules! gemm_u8 {
    ($class:ident, $operands:expr, $mr:literal, $nv:literal, $nr:literal) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
            class: KernelClass::$class,
            operands: $operands,
            imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
                mr: $mr,
                nr: $nr,
                kr: 4,
                packed: ($operands.0, DType::I16),
                layout: PanelLayout::EvenOdd,
                fused_epilogue: true,
                strip: true,
                constraint: WeightConstraint::None,
                probe,
                run: gemm_u8::gemm_u8::<$mr, $nv, $nr, { matches!($operands.0, DType::I8) }>,
            }),
        }
    };
}

/// The one-row kernel with s8 weights streamed and widened in registers
/// ([`gemm_u8::gemm_u8_s8w`]); planning refuses it for weights beyond s8.
macro_rules! gemm_u8_s8w {
    ($class:ident, $operands:expr, $nv:literal, $nr:literal) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
            class: KernelClass::$class,
            operands: $operands,
            imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
                mr: 1,
                nr: $nr,
                kr: 4,
                packed: ($operands.0, DType::I8),
                layout: PanelLayout::EvenOdd,
                fused_epilogue: true,
                strip: true,
                constraint: WeightConstraint::None,
                probe,
                run: gemm_u8::gemm_u8_s8w::<$nv, $nr, { matches!($operands.0, DType::I8) }>,
            }),
        }
    };
}

/// An entry of the `vpmaddwd` depthwise kernel on i16 rows.
macro_rules! depthwise_i16 {
    ($class:ident, $operands:expr) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
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

/// A depthwise kernel on 8-bit rows read in place with i16 weights
/// ([`depthwise_u8::depthwise_u8`]).
macro_rules! depthwise_u8 {
    ($class:ident, $operands:expr) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
            class: KernelClass::$class,
            operands: $operands,
            imp: KernelImpl::Depthwise(DepthwiseMicrokernel {
                block: depthwise_u8::BLOCK,
                kr: 2,
                packed: ($operands.0, DType::I16),
                probe,
                run: depthwise_u8::depthwise_u8::<{ matches!($operands.0, DType::I8) }>,
            }),
        }
    };
}

/// The u8 × s8 `vpmaddubsw` tile; planning refuses it for weights whose pair sums could
/// saturate i16.
macro_rules! maddubs {
    ($class:ident, $operands:expr) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
            class: KernelClass::$class,
            operands: $operands,
            imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
                mr: 6,
                nr: 16,
                kr: 4,
                packed: (DType::U8, DType::I8),
                layout: PanelLayout::Interleaved,
                fused_epilogue: true,
                strip: true,
                constraint: WeightConstraint::U8S8PairSumFitsI16,
                probe,
                run: gemm::gemm_u8s8_maddubs::<6, 2, 16>,
            }),
        }
    };
}

const I16: (DType, DType) = (DType::I16, DType::I16);
const U8S8: (DType, DType) = (DType::U8, DType::I8);
const S8S8: (DType, DType) = (DType::I8, DType::I8);
const U8U8: (DType, DType) = (DType::U8, DType::U8);
const U8I16: (DType, DType) = (DType::U8, DType::I16);
const S8I16: (DType, DType) = (DType::I8, DType::I16);
const S8U8: (DType, DType) = (DType::I8, DType::U8);

kernel!(conv avx2_gemm_i16_6x16 = gemm_i16!(Int16Gemm, I16, 6, 2, 16));
kernel!(conv avx2_gemm_i16_5x16 = gemm_i16!(Int16Gemm, I16, 5, 2, 16));
kernel!(conv avx2_gemm_u8s8_widen_5x16 = gemm_i16!(Int8Gemm, U8S8, 5, 2, 16));
kernel!(conv avx2_dw_i16_16 = depthwise_i16!(Int16Depthwise, I16));
kernel!(conv avx2_gemm_u8s8_widen_6x16 = gemm_i16!(Int8Gemm, U8S8, 6, 2, 16));
kernel!(conv avx2_gemm_s8s8_widen_6x16 = gemm_i16!(Int8Gemm, S8S8, 6, 2, 16));
kernel!(conv avx2_gemm_u8u8_widen_6x16 = gemm_i16!(Int8Gemm, U8U8, 6, 2, 16));
kernel!(conv avx2_gemm_u8i16_4x16 = gemm_u8!(Int16Gemm, U8I16, 4, 2, 16));
kernel!(conv avx2_gemm_u8i16_4x24 = gemm_u8!(Int16Gemm, U8I16, 4, 3, 24));
kernel!(conv avx2_gemm_u8s8_4x24 = gemm_u8!(Int8Gemm, U8S8, 4, 3, 24));
kernel!(conv avx2_gemm_s8i16_4x16 = gemm_u8!(Int16Gemm, S8I16, 4, 2, 16));
kernel!(conv avx2_gemm_u8s8_4x16 = gemm_u8!(Int8Gemm, U8S8, 4, 2, 16));
kernel!(conv avx2_gemm_u8u8_4x16 = gemm_u8!(Int8Gemm, U8U8, 4, 2, 16));
kernel!(conv avx2_gemm_s8s8_4x16 = gemm_u8!(Int8Gemm, S8S8, 4, 2, 16));
kernel!(conv avx2_gemm_s8u8_4x16 = gemm_u8!(Int8Gemm, S8U8, 4, 2, 16));
kernel!(conv avx2_gemm_u8i16_s8w_1x64 = gemm_u8_s8w!(Int16Gemm, U8I16, 8, 64));
kernel!(conv avx2_gemm_u8s8_s8w_1x64 = gemm_u8_s8w!(Int8Gemm, U8S8, 8, 64));
kernel!(conv avx2_dw_u8i16_16 = depthwise_u8!(Int16Depthwise, U8I16));
kernel!(conv avx2_dw_s8i16_16 = depthwise_u8!(Int16Depthwise, S8I16));
kernel!(conv avx2_dw_u8s8_16 = depthwise_u8!(Int8Depthwise, U8S8));
kernel!(conv avx2_dw_u8u8_16 = depthwise_u8!(Int8Depthwise, U8U8));
kernel!(conv avx2_dw_s8s8_16 = depthwise_u8!(Int8Depthwise, S8S8));
kernel!(conv avx2_dw_s8u8_16 = depthwise_u8!(Int8Depthwise, S8U8));
// Its conformance cases keep |w| ≤ 64 (the weight constraint); tests/registry.rs checks
// the refusal of weights beyond it.
kernel!(conv avx2_gemm_u8s8_maddubs_6x16 = maddubs!(Int8Gemm, U8S8));
kernel!(conv avx2_gemm_u8i16_maddubs_6x16 = maddubs!(Int16Gemm, U8I16));
