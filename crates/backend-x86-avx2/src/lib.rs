//! # backend-x86-avx2: kernels for x86-64 without an int8 dot product
//!
//! Registers the `x86-avx2` descriptor ([`descriptor`]), which says *no fast int8 dot
//! product*, and its kernels ([`kernels`]):
//!
//! * the int16 lowering on `vpmaddwd` ([`gemm::gemm_i16`], [`depthwise`]) — dense layers
//!   use the one-row tile;
//! * an exact int8 path: the same kernels on 8-bit operands widened to i16 by the frame,
//!   with the zero-point terms in the epilogue; and `vpmaddubsw`
//!   ([`gemm::gemm_u8s8_maddubs`]) only for weights whose pair sums provably fit i16
//!   (255 · 127 · 2 > 32 767 would saturate otherwise).
//!
//! Name the crate in binaries, tests and benches that want it: `use backend_x86_avx2 as _;`.

#![cfg(target_arch = "x86_64")]

pub mod data_kernels;
pub mod depthwise;
pub mod descriptor;
pub mod elementwise;
pub mod gemm;
pub mod kernels;
pub mod pool;
pub mod transpose;
