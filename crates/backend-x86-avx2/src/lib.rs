//! # backend-x86-avx2: kernels for x86-64 without an int8 dot product
//!
//! Registers the `x86-avx2` descriptor ([`descriptor`]), which says *no fast int8 dot
//! product*, and its kernels ([`kernels`]), all exact on `vpmaddwd` (i16 pairs summed into
//! i32):
//!
//! * 8-bit data read in place and widened in registers, for the int16 lowering (the
//!   frame folds the data offset into the per-channel constant) and the exact int8 one
//!   ([`gemm_u8`], [`depthwise_u8`]); dense layers stream s8 weights;
//! * the same arithmetic on data the frame widens into a copy ([`gemm::gemm_i16`],
//!   [`depthwise`]: i16 inputs, and layers where the copy is amortized);
//! * `vpmaddubsw` ([`gemm::gemm_u8s8_maddubs`]) only for weights whose pair sums provably
//!   fit i16 (255 · 127 · 2 > 32 767 would saturate otherwise).
//!
//! Name the crate in binaries, tests and benches that want it: `use backend_x86_avx2 as _;`.

#![cfg(target_arch = "x86_64")]

pub mod data_kernels;
pub mod depthwise;
pub mod depthwise_u8;
pub mod descriptor;
pub mod elementwise;
pub mod gemm;
pub mod gemm_u8;
pub mod kernels;
pub mod pool;
pub mod transpose;
