//! # backend-x86-vnni: int8 kernels on x86-64 with VNNI
//!
//! Registers the `x86-vnni` descriptor ([`descriptor`]) and its kernels ([`kernels`]) for
//! the int8 lowering (u8 data × s8 weights; s8 data is shifted by +128 by the legalizer):
//!
//! * [`avx512`]: zmm `vpdpbusd` GEMM tiles and a depthwise kernel (AVX-512 F/BW/VNNI);
//! * [`avxvnni`]: ymm `vpdpbusd` GEMM tiles (AVX2 + AVX-VNNI, no AVX-512).
//!
//! Each kernel probes its own ISA variant at run time (`is_x86_feature_detected!`); the
//! descriptor is usable when either is. Packing, indirection, threading and the epilogue
//! arithmetic come from `qnn-kernels`; the epilogue is instantiated inside each kernel's
//! `#[target_feature]` function, so it vectorizes for that ISA.
//!
//! Name the crate in binaries, tests and benches that want it: `use backend_x86_vnni as _;`.

#![cfg(target_arch = "x86_64")]

pub mod avx512;
pub mod avxvnni;
pub mod descriptor;
pub mod kernels;
