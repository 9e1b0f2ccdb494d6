//! # backend-arm-neon: 64-bit Arm without an int8 dot product
//!
//! The RFC's own case: on a Cortex-A53 (Raspberry Pi 3) the int16 lowering beats int8,
//! because NEON multiplies 16-bit values into 32-bit accumulators (`smlal`, 4 MACs) as fast
//! as it multiplies bytes, and the int8 lowering would need `smull` + `sadalp` plus the
//! zero-point terms. This crate registers:
//!
//! * [`descriptor`]: `arm-neon`, no int8 dot product, int16 MAC, 128-bit vectors. Registered
//!   on every host, so that the legalizer can plan for a named Arm target from anywhere;
//! * on aarch64 only, the kernels ([`kernels`]): [`gemm_i16`] (`smlal` by lane, the int16
//!   lowering), [`gemm_i8`] (exact `smull` + `sadalp`, the int8 lowering for comparison),
//!   [`depthwise`] (both).
//!
//! Packing, indirection, threading and the epilogue arithmetic come from `qnn-kernels`; the
//! epilogue is instantiated inside each kernel's `#[target_feature]` function. Every kernel
//! probes NEON at run time (`is_aarch64_feature_detected!`) before the frame calls it.
//!
//! Name the crate in binaries, tests and benches that want it: `use backend_arm_neon as _;`.

pub mod descriptor;

#[cfg(target_arch = "aarch64")]
pub mod data;
#[cfg(target_arch = "aarch64")]
pub mod data_kernels;
#[cfg(target_arch = "aarch64")]
pub mod depthwise;
#[cfg(target_arch = "aarch64")]
pub mod gemm_i16;
#[cfg(target_arch = "aarch64")]
pub mod gemm_i8;
#[cfg(target_arch = "aarch64")]
pub mod kernels;
