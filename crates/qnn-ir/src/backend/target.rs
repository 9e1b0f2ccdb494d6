//! Target descriptors: the architectures, named CPUs and CPU features that `--target
//! TRIPLE:CPU` understands, extensible by any backend crate.
//!
//! The legalizer's built-in table (`qnn_legalize::target::cpus`) knows x86-64, aarch64 and
//! CUDA. A backend for another architecture (riscv64, say), or for CPUs the table does not
//! name, registers a [`TargetDescriptor`] next to its [`BackendDescriptor`]:
//!
//! ```text
//! inventory::submit! { TargetDescriptor {
//!     abi_version: BACKEND_ABI_VERSION,
//!     arch: Arch::Other("riscv64"),
//!     triples: &["riscv64gc", "riscv64"],          // first component of the triple
//!     device: false,
//!     cpus: &[NamedCpu { name: "generic", features: &["rv64gc"] },          // first: baseline
//!             NamedCpu { name: "spacemit-x60", features: &["rv64gc", "v"] }],
//!     features: &[TargetFeature { name: "v", implies: &["v", "rv64gc"], implied_by: &[] }],
//!     host_features,                                 // fn() -> Vec<&'static str>
//! } }
//! ```
//!
//! and `qnn legalize --target riscv64gc-unknown-linux-gnu:spacemit-x60` plans for it; `qnn
//! targets` lists it. Descriptors for an architecture the table knows add CPUs and features
//! to it; [`TargetFeature::implied_by`] adds a feature to CPUs that are already known (SSE4.1
//! to every CPU with AVX).
//!
//! [`BackendDescriptor`]: super::BackendDescriptor

use super::descriptor::Arch;

/// A CPU model of a target and its features (implications expanded).
#[derive(Debug, Clone, Copy)]
pub struct NamedCpu {
    /// As LLVM/rustc name it (`-C target-cpu`).
    pub name: &'static str,
    pub features: &'static [&'static str],
}

/// A CPU feature that `TRIPLE:+FEATURE` may name.
#[derive(Debug, Clone, Copy)]
pub struct TargetFeature {
    /// As LLVM/rustc name it (`-C target-feature`).
    pub name: &'static str,
    /// Itself first, then every feature it implies.
    pub implies: &'static [&'static str],
    /// A CPU that has any of these features has this one too (also CPUs of other
    /// descriptors of the same architecture): how a descriptor adds a feature to known CPUs.
    pub implied_by: &'static [&'static str],
}

/// What a backend crate registers to extend the named targets (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct TargetDescriptor {
    /// Must equal [`BACKEND_ABI_VERSION`](super::BACKEND_ABI_VERSION): `host_features` is a
    /// function pointer.
    pub abi_version: u32,
    pub arch: Arch,
    /// First components of the triples that mean this architecture (`riscv64gc`); empty
    /// when the descriptor only adds CPUs or features to a known architecture.
    pub triples: &'static [&'static str],
    /// An accelerator driven from the host (CUDA): the portable CPU kernels do not apply.
    pub device: bool,
    /// Named CPUs; the first of a new architecture is its baseline.
    pub cpus: &'static [NamedCpu],
    pub features: &'static [TargetFeature],
    /// Of this descriptor's features, those this machine has (empty on another
    /// architecture). Must not panic.
    pub host_features: fn() -> Vec<&'static str>,
}

impl TargetDescriptor {
    /// A `host_features` for descriptors that detect nothing.
    pub fn no_host_features() -> Vec<&'static str> {
        Vec::new()
    }
}

inventory::collect!(TargetDescriptor);
