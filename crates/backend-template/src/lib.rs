//! # backend-template: a qnn backend to copy
//!
//! The smallest complete backend: one [`BackendDescriptor`](qnn_ir::backend::BackendDescriptor)
//! ([`descriptor::DESCRIPTOR`], named `template-scalar`, handed to the registry with
//! `inventory::submit!`) and one kernel ([`gemm::template_gemm_u8i8_4x4`], a scalar indirect
//! GEMM microkernel with the fused epilogue, declared with `qnn_kernels::kernel!`, which
//! registers it and runs the shared conformance suite on it in this crate's tests). It
//! depends on `qnn-ir` (the contract), `qnn-kernels` (the declaration macro and the
//! epilogue) and `inventory`, nothing else, and runs on any CPU. Its README walks from a copy
//! of this crate to a `qnn` binary running a model on it.
//!
//! ## Writing your own backend from it
//!
//! 1. Copy this crate, rename the package (`backend-myisa`) and the descriptor's `name`; every
//!    kernel entry's `backend` field must repeat that name.
//! 2. Fill in the descriptor ([`descriptor`] explains each field): the architecture, the CPU
//!    features your kernels need, a probe that checks them at run time, the capabilities the
//!    legalizer reads (above all which int8 dot product you have, if any), a priority.
//! 3. Write microkernels that honour the indirect-GEMM contract of
//!    [`IndirectGemmMicrokernel`](qnn_ir::backend::IndirectGemmMicrokernel) (or the depthwise,
//!    pooling, element-wise and transpose contracts of `qnn_ir::backend`) and declare one
//!    [`KernelEntry`](qnn_ir::backend::KernelEntry) each with `qnn_kernels::kernel!`
//!    ([`gemm`] shows how): one line defines, registers and tests it. A SIMD kernel is a
//!    `#[target_feature(enable = "…")] unsafe fn`; those coerce to the contract's
//!    `unsafe fn(&IndirectGemmArgs)` pointer, and the runtime calls your probes before any
//!    of them.
//! 4. Test what a user's binary sees from an integration test (`tests/registry.rs` here): the
//!    registry lists the descriptor and every kernel, and the kernel equals a naive product bit
//!    for bit on random tiles. (`kernel!` already runs the conformance suite against the
//!    reference interpreter in the crate's own test build.)
//! 5. Set `abi_version` to [`BACKEND_ABI_VERSION`](qnn_ir::backend::BACKEND_ABI_VERSION) in every
//!    submission. When the contract changes its function-pointer signatures the version moves,
//!    and [`registry::problems`](qnn_ir::backend::registry::problems) reports a backend built for
//!    another one instead of calling it with the wrong arguments.
//!
//! ## The `use backend_template as _;` rule
//!
//! Registration happens at link time, and the linker drops a crate that nothing names, together
//! with its submissions: no error, the backend is just absent. So every binary, test and bench
//! that wants this backend names the crate once:
//!
//! ```
//! use backend_template as _;
//!
//! assert!(qnn_ir::backend::registry::backend("template-scalar").is_some());
//! ```
//!
//! Depending on the crate in `Cargo.toml` is not enough. The converse (a binary that does not
//! name the crate does not list it) cannot be shown from a test of this crate, because the test
//! binary names it; [`registry::backends`](qnn_ir::backend::registry::backends) (and `qnn
//! targets`) is how a user checks what a binary contains.

pub mod descriptor;
pub mod gemm;
