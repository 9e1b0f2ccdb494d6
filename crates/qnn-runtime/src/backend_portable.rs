//! The `portable` backend: the shared frame's scalar microkernels for every operand pair the
//! legalizer emits (u8/i8 × u8/i8 for the int8 lowering, i16 × i16 for int16), GEMM and
//! depthwise. It runs on any CPU, so every fused conv/dense has a kernel even where no SIMD
//! backend is linked (aarch64 before the Arm backends, a forced backend without a kernel for
//! some layer); its lowest priority and cost figures make every real backend win.

use qnn_ir::DType;
use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, DepthwiseMicrokernel,
    IndirectGemmMicrokernel, KernelClass, KernelCost, KernelEntry, KernelImpl, PanelLayout,
    WeightConstraint,
};
use qnn_kernels::portable::{I8, I16, U8, depthwise, gemm};

/// The backend's name.
pub const NAME: &str = "portable";

fn always() -> Result<(), String> {
    Ok(())
}

inventory::submit! {
    BackendDescriptor {
        abi_version: BACKEND_ABI_VERSION,
        name: NAME,
        arch: Arch::Portable,
        features: &[],
        probe: always,
        priority: -100,
        capabilities: Capabilities {
            int8_dot: &[],
            int16_mac: false,
            vector_bits: 0,
            bytes_per_cycle: 8.0,
            costs: &[
                KernelCost { class: KernelClass::Int8Gemm, macs_per_cycle: 1.0 },
                KernelCost { class: KernelClass::Int16Gemm, macs_per_cycle: 1.0 },
                KernelCost { class: KernelClass::Int8Depthwise, macs_per_cycle: 1.0 },
                KernelCost { class: KernelClass::Int16Depthwise, macs_per_cycle: 1.0 },
                KernelCost { class: KernelClass::WindowSum, macs_per_cycle: 2.0 },
            ],
        },
        summary: "portable scalar kernels of the shared frame (any CPU; the fallback of every other backend)",
    }
}

macro_rules! gemm_kernel {
    ($name:literal, $d:ty, $w:ty, $dt:ident, $wt:ident, $class:ident) => {
        inventory::submit! {
            KernelEntry {
                abi_version: BACKEND_ABI_VERSION,
                backend: NAME,
                name: $name,
                class: KernelClass::$class,
                operands: (DType::$dt, DType::$wt),
                imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
                    mr: 4,
                    nr: 8,
                    kr: 1,
                    packed: (DType::$dt, DType::$wt),
                    layout: PanelLayout::Interleaved,
                    fused_epilogue: true,
                    strip: false,
                    constraint: WeightConstraint::None,
                    probe: always,
                    run: gemm::<$d, $w, 4, 8, 1>,
                }),
            }
        }
    };
}

macro_rules! depthwise_kernel {
    ($name:literal, $d:ty, $w:ty, $dt:ident, $wt:ident, $class:ident) => {
        inventory::submit! {
            KernelEntry {
                abi_version: BACKEND_ABI_VERSION,
                backend: NAME,
                name: $name,
                class: KernelClass::$class,
                operands: (DType::$dt, DType::$wt),
                imp: KernelImpl::Depthwise(DepthwiseMicrokernel {
                    block: 8,
                    kr: 1,
                    packed: (DType::$dt, DType::$wt),
                    probe: always,
                    run: depthwise::<$d, $w, 8, 1>,
                }),
            }
        }
    };
}

gemm_kernel!("portable_gemm_u8s8_4x8", U8, I8, U8, I8, Int8Gemm);
gemm_kernel!("portable_gemm_u8u8_4x8", U8, U8, U8, U8, Int8Gemm);
gemm_kernel!("portable_gemm_s8s8_4x8", I8, I8, I8, I8, Int8Gemm);
gemm_kernel!("portable_gemm_s8u8_4x8", I8, U8, I8, U8, Int8Gemm);
gemm_kernel!("portable_gemm_i16_4x8", I16, I16, I16, I16, Int16Gemm);
depthwise_kernel!("portable_dw_u8s8_8", U8, I8, U8, I8, Int8Depthwise);
depthwise_kernel!("portable_dw_u8u8_8", U8, U8, U8, U8, Int8Depthwise);
depthwise_kernel!("portable_dw_s8s8_8", I8, I8, I8, I8, Int8Depthwise);
depthwise_kernel!("portable_dw_s8u8_8", I8, U8, I8, U8, Int8Depthwise);
depthwise_kernel!("portable_dw_i16_8", I16, I16, I16, I16, Int16Depthwise);
