//! # backend-arm-dotprod: 64-bit Arm with an int8 dot product
//!
//! On Armv8.2+ cores with `sdot`/`udot` (Cortex-A55/A76, Neoverse N1, Apple M1, Graviton 2+)
//! an instruction multiplies 4 byte pairs per lane: 16 MACs, four times `smlal`, so the int8
//! lowering with zero-point terms wins (ARCHITECTURE.md §1). This crate registers:
//!
//! * [`descriptor`]: `arm-dotprod`, s8×s8 and u8×u8 dot products, 128-bit vectors.
//!   Registered on every host, so the legalizer can plan for a named Arm target from anywhere;
//! * on aarch64 only, the kernels ([`kernels`]): [`gemm_dot`] (`sdot`/`udot` by element,
//!   4×16c4 and the dense 1×32c4), [`gemm_i8mm`] (`smmla`/`ummla`, 32 MACs per instruction,
//!   probed separately for i8mm), [`depthwise`] (`sdot` with one useful byte in four);
//! * [`intrinsics`]: `vdotq_s32`, `vdotq_laneq_s32`, `vmmlaq_s32`, … — the unstable
//!   intrinsics of Rust 1.95 as one-instruction `asm!` functions with the same names.
//!
//! Packing, indirection, threading and the epilogue arithmetic come from `qnn-kernels`.
//! Name the crate in binaries, tests and benches that want it: `use backend_arm_dotprod as _;`.

pub mod descriptor;

#[cfg(target_arch = "aarch64")]
pub mod depthwise;
#[cfg(target_arch = "aarch64")]
pub mod gemm_dot;
#[cfg(target_arch = "aarch64")]
pub mod gemm_i8mm;
#[cfg(target_arch = "aarch64")]
pub mod intrinsics;
#[cfg(target_arch = "aarch64")]
pub mod kernels;
