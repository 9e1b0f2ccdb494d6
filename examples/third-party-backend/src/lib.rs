//! # backend-x86-sse41: a third-party qnn backend for x86-64 without AVX2
//!
//! x86-64 CPUs without AVX2 — Nehalem to Ivy Bridge servers and desktops, Silvermont and
//! Goldmont Atoms, many still in service — have no int8 dot product and 128-bit vectors:
//! the RFC's "no fast int8" case at 128 bits. qnn's in-tree x86 backends need AVX2 at least,
//! so on such a CPU every convolution falls to the scalar `portable` kernels. This crate
//! registers, from outside qnn's workspace and without changing any of its files:
//!
//! * the `x86-sse41` descriptor ([`descriptor`]): no int8 dot product, int16 MACs
//!   (`pmaddwd` on xmm), so the legalizer picks the int16 lowering;
//! * its kernels ([`kernels`]): the int16 lowering's GEMM tiles and an exact int8 path (8-bit
//!   operands widened to i16 by the frame, zero-point terms in the epilogue) on the same
//!   microkernels ([`gemm`], and [`depthwise`] for depthwise layers), each declared once with `qnn_kernels::kernel!`, which registers
//!   it and runs qnn's conformance suite on it in this crate's tests;
//! * a target descriptor ([`target`]): the pre-AVX2 CPUs by name (`nehalem`, `westmere`,
//!   `sandybridge`, `ivybridge`, `silvermont`, `goldmont`) and the `ssse3`/`sse4.1` features,
//!   so that `qnn legalize --target x86_64-unknown-linux-gnu:westmere` plans for this
//!   backend from any machine.
//!
//! `src/bin/qnn.rs` is the whole `qnn` command with this backend linked; `benches/decisions.rs`
//! is qnn's decision benchmark with it. Binaries that want the backend name the crate:
//! `use backend_x86_sse41 as _;`.

#![cfg(target_arch = "x86_64")]

pub mod depthwise;
pub mod descriptor;
pub mod gemm;
pub mod kernels;
pub mod target;

pub use descriptor::{DESCRIPTOR, NAME};
