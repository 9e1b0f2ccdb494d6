//! `qnn-runtime`: compile a QNN graph for this machine and run it (ARCHITECTURE.md §2, §6).
//!
//! ```text
//! Graph (QNN dialect)
//!   ── legalize(target, policy) ─►  core ops, a lowering per conv/dense, with reasons, and
//!                                    a typed record of each decision   (qnn-legalize)
//!   ── optimize ─────────────────►  fold: every all-constant node evaluated once
//!                                   fuse: each recorded conv/dense chain (zero-point terms,
//!                                         bias, requantize, clamp) = one ConvSpec step;
//!                                         each recorded pool, QLinearAdd, quantize,
//!                                         dequantize, concatenation = one typed DataSpec
//!                                   layout: NHWC inside, transposes only at the edges
//!                                   edges: quantize/dequantize + transpose = one step
//!   ── plan ─────────────────────►  kernels: a registered kernel per fused op, the
//!                                            legalizer's backend first, weights prepacked;
//!                                            a pool / element-wise / transpose kernel per
//!                                            typed step
//!                                   units: element-wise chains grouped into one program,
//!                                          a group of one 8-bit value = one lookup kernel
//!                                   arena: buffers shared by liveness
//!   ── program ──────────────────►  executable steps on planned buffers, a report per step
//!   ── execute ──────────────────►  thread-parallel, reentrant (`CompiledModel: Send + Sync`)
//! ```
//!
//! One module per pass (`optimize`, `plan`, `program`, `exec`), each importing only the
//! passes before it; [`Compiler`] runs them in order.
//!
//! ```
//! use qnn_ir::{Graph, Tensor};
//! use qnn_runtime::{CompileOptions, Compiler, RuntimeError};
//!
//! fn infer(graph: &Graph, input: Tensor) -> Result<Vec<Tensor>, RuntimeError> {
//!     let model = Compiler::new(CompileOptions::default()).compile(graph)?;
//!     println!("{}", model.report()); // kernel and backend per op, or why the reference
//!     model.run(&[input]) // bit-exact with qnn_ir::reference::run
//! }
//! ```
//!
//! **Backends.** This crate links the in-tree backends, so every user of `qnn-runtime` has
//! them, `portable` included (`backend-portable`: scalar kernels of the shared frame, any CPU):
//! [`registered_backends`] lists them. `QNN_BACKEND=x86-avx2` (or
//! [`CompileOptions::backend`]) restricts a compilation to one backend, with the portable
//! kernels as its fallback; an unknown name is an error listing the registered ones. An
//! int8 layer whose operand pair the chosen backend has no int8 kernel for (arm-neon's
//! exact int8 path is s8×s8 and u8×u8; a target without a dot product keeps u8×s8) runs on
//! that backend's i16 kernel with the operands widened, exactly, rather than on `portable`.
//!
//! **Devices.** A target that includes the `cuda-dp4a` backend (the named target `cuda`,
//! the host on a machine whose probe finds a GPU, or `QNN_BACKEND=cuda-dp4a`) runs each
//! fused int8 conv/dense that a device kernel's `applicable` check accepts on the GPU:
//! prepared at compile time (weights uploaded and prepacked once), its input and output
//! moved by the runtime on every run. Everything else runs on the CPU; the report says
//! which op runs where and why ([`Exec::Device`]). Compiling for a device this machine lacks
//! is an error ([`RuntimeError::DeviceUnavailable`]), never a quiet CPU fallback;
//! [`Compiler::plan`] shows that target's plan without a device.
//!
//! **Exactness.** Whatever runs a step — a registered kernel, a portable implementation here
//! (element-wise groups no kernel kind covers, data movement, reductions), or the reference
//! interpreter — the outputs equal `qnn_ir::reference::run` on the original graph bit for
//! bit, and an integer overflow the reference reports is reported too. Every kernel lives in
//! a backend crate: this crate holds no ISA code.

// The in-tree backends, named so that the linker keeps their registrations in every binary
// that uses the runtime (ARCHITECTURE.md §5). Each registers its descriptor everywhere it
// compiles (the Arm ones on every host, so that Arm targets can be planned from anywhere)
// and its kernels on its own architecture. The CUDA crate registers its descriptor and
// device kernels everywhere; they run where its probe finds a GPU. `portable` runs anywhere:
// the fallback of every compilation.
use backend_arm_dotprod as _;
use backend_arm_neon as _;
use backend_cuda_dp4a as _;
use backend_portable as _;
use backend_x86_avx2 as _;
use backend_x86_vnni as _;

mod broadcast;
mod byte_function;
mod compiler;
mod error;
mod exec;
mod model;
mod optimize;
mod options;
mod plan;
mod program;

pub use backend_portable::NAME as PORTABLE_BACKEND;
pub use compiler::Compiler;
pub use error::RuntimeError;
pub use model::{CompilePhases, CompiledModel, Workspace};
pub use options::{BACKEND_ENV, CompileOptions, available_threads};
pub use plan::report::{Exec, PlanReport, StepReport};

/// Names of the backends registered in this binary, sorted (`portable`, `x86-avx2`, …).
pub fn registered_backends() -> Vec<&'static str> {
    qnn_ir::backend::registry::backends().iter().map(|d| d.name).collect()
}
