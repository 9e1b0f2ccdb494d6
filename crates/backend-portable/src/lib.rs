//! # backend-portable: the backend that runs everywhere
//!
//! The single meaning of "portable" in qnn: this crate registers the `portable` descriptor
//! ([`descriptor`]: plain Rust, any CPU, priority −100) and the scalar microkernels of
//! `qnn_kernels::scalar` for every operand pair the runtime plans ([`kernels`]), so every
//! fused op has a kernel even where no SIMD backend is linked (a new architecture, a forced
//! backend without a kernel for some layer). Every real backend wins over it where it has a
//! kernel.
//!
//! `qnn-runtime` links it; any other binary that wants it names the crate:
//!
//! ```
//! use backend_portable as _;
//!
//! assert!(qnn_ir::backend::registry::backend(backend_portable::NAME).is_some());
//! ```

pub mod descriptor;
pub mod kernels;

pub use descriptor::NAME;
