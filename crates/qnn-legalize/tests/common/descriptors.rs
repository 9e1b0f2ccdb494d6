//! Test-only backend descriptors shaped like the real ones (the real Arm/CUDA crates do not
//! exist yet): registered in every test binary or example that includes this file.

use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, Int8Dot, KernelClass, KernelCost,
};

fn probe_vnni() -> Result<(), String> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512vnni") {
        return Ok(());
    }
    Err("no avx512vnni".into())
}
fn probe_avx2() -> Result<(), String> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return Ok(());
    }
    Err("no avx2".into())
}
fn probe_neon() -> Result<(), String> {
    if cfg!(target_arch = "aarch64") { Ok(()) } else { Err("not aarch64".into()) }
}
fn probe_dotprod() -> Result<(), String> {
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("dotprod") {
        return Ok(());
    }
    Err("no dotprod".into())
}
fn probe_none() -> Result<(), String> {
    Err("test-only backend for another machine".into())
}

const fn cost(class: KernelClass, macs_per_cycle: f32) -> KernelCost {
    KernelCost { class, macs_per_cycle }
}
use KernelClass::*;

inventory::submit! {
    BackendDescriptor {
        abi_version: BACKEND_ABI_VERSION,
        name: "x86-vnni",
        arch: Arch::X86_64,
        features: &["avx512vnni"],
        probe: probe_vnni,
        priority: 20,
        capabilities: Capabilities {
            int8_dot: &[Int8Dot::U8S8],
            int16_mac: true,
            vector_bits: 512,
            bytes_per_cycle: 32.0,
            // vpdpbusd: 64 u8×s8 MACs per instruction, 2 ports; vpmaddwd: 32 per instruction.
            costs: &[cost(Int8Gemm, 128.0), cost(Int16Gemm, 64.0), cost(Int8Depthwise, 32.0),
                cost(Int16Depthwise, 32.0), cost(WindowSum, 64.0)],
        },
        summary: "test: AVX-512 VNNI (vpdpbusd u8×s8)",
    }
}
inventory::submit! {
    BackendDescriptor {
        abi_version: BACKEND_ABI_VERSION,
        name: "x86-avx2",
        arch: Arch::X86_64,
        features: &["avx2"],
        probe: probe_avx2,
        priority: 10,
        capabilities: Capabilities {
            int8_dot: &[],
            int16_mac: true,
            vector_bits: 256,
            bytes_per_cycle: 16.0,
            // vpmaddwd: 16 MACs per instruction, 2 ports; int8 needs vpmaddubsw + vpmaddwd.
            costs: &[cost(Int8Gemm, 21.0), cost(Int16Gemm, 32.0), cost(Int8Depthwise, 12.0),
                cost(Int16Depthwise, 16.0), cost(WindowSum, 32.0)],
        },
        summary: "test: AVX2 (vpmaddwd int16)",
    }
}
inventory::submit! {
    BackendDescriptor {
        abi_version: BACKEND_ABI_VERSION,
        name: "arm-neon",
        arch: Arch::Aarch64,
        features: &["neon"],
        probe: probe_neon,
        priority: 10,
        capabilities: Capabilities {
            int8_dot: &[],
            int16_mac: true,
            vector_bits: 128,
            bytes_per_cycle: 8.0,
            // smlal: 4 int16 MACs per lane group, 2 pipes; int8 via smull+sadalp is slower.
            costs: &[cost(Int8Gemm, 8.0), cost(Int16Gemm, 16.0), cost(Int8Depthwise, 6.0),
                cost(Int16Depthwise, 8.0), cost(WindowSum, 16.0)],
        },
        summary: "test: NEON (smlal int16)",
    }
}
inventory::submit! {
    BackendDescriptor {
        abi_version: BACKEND_ABI_VERSION,
        name: "arm-dotprod",
        arch: Arch::Aarch64,
        features: &["dotprod"],
        probe: probe_dotprod,
        priority: 20,
        capabilities: Capabilities {
            int8_dot: &[Int8Dot::S8S8, Int8Dot::U8U8],
            int16_mac: true,
            vector_bits: 128,
            bytes_per_cycle: 16.0,
            // sdot/udot: 16 MACs per instruction, 2 pipes.
            costs: &[cost(Int8Gemm, 32.0), cost(Int16Gemm, 16.0), cost(Int8Depthwise, 12.0),
                cost(Int16Depthwise, 8.0), cost(WindowSum, 16.0)],
        },
        summary: "test: Arm dotprod (sdot s8×s8, udot u8×u8)",
    }
}
inventory::submit! {
    BackendDescriptor {
        abi_version: BACKEND_ABI_VERSION,
        name: "cuda-dp4a",
        arch: Arch::Cuda,
        features: &["dp4a"],
        probe: probe_none,
        priority: 30,
        capabilities: Capabilities {
            int8_dot: &[Int8Dot::S8S8],
            int16_mac: false,
            vector_bits: 32,
            bytes_per_cycle: 256.0,
            costs: &[cost(Int8Gemm, 4096.0), cost(Int16Gemm, 1024.0), cost(Int8Depthwise, 1024.0),
                cost(Int16Depthwise, 512.0), cost(WindowSum, 2048.0)],
        },
        summary: "test: CUDA dp4a (s8×s8)",
    }
}
// Only u8×u8, so that the property tests reach the udot legalization on its own; needs a
// feature no named CPU has.
inventory::submit! {
    BackendDescriptor {
        abi_version: BACKEND_ABI_VERSION,
        name: "test-udot",
        arch: Arch::Aarch64,
        features: &["test-udot-only"],
        probe: probe_none,
        priority: 0,
        capabilities: Capabilities {
            int8_dot: &[Int8Dot::U8U8],
            int16_mac: true,
            vector_bits: 128,
            bytes_per_cycle: 16.0,
            costs: &[cost(Int8Gemm, 32.0), cost(Int16Gemm, 16.0), cost(WindowSum, 16.0)],
        },
        summary: "test: u8×u8 only",
    }
}
