//! `qnn-kernels`: what every CPU backend shares (ARCHITECTURE.md §3, §6).
//!
//! * [`ConvProblem`]: a fused quantized conv2d/dense in NHWC, operands u8/i8/i16, with its
//!   [`EpilogueSpec`] (per-channel constant, T3, requantize, clamp);
//! * prepacking of weights into the panel format of a kernel's tile ([`pack`]), indirect
//!   convolution ([`indirect`]): no im2col copy, 1×1 layers read the input directly, and
//!   few-channel first layers (C = 3) run with one tap per kernel row (`kw · C` contiguous
//!   bytes of a horizontally padded copy) instead of one per position;
//! * the drivers ([`GemmPlan`], [`DepthwisePlan`]) that split work over a [`ThreadPool`]
//!   with results independent of the thread count; the range proof
//!   ([`epilogue::check_accumulator_range`]) that lets every kernel work in i32;
//! * the generic epilogue arithmetic ([`epilogue::lanes`]) that backends instantiate inside
//!   their `#[target_feature]` microkernels, and x86 store helpers ([`x86`]);
//! * portable scalar microkernels ([`portable`]) that define the ABI by example;
//! * the conformance suite (`conformance_tests!`, feature `testing`).
//!
//! The runtime's entry point is [`ConvPlan`]: plan once (checks, range proof, weight
//! prepacking), run many times, from any number of threads, each with its own [`Scratch`].
//! Here a 4 → 2 dense layer with raw i32 output on the portable kernels (a runtime passes
//! `qnn_ir::backend::registry::kernels()` instead, the kernels of the backends it links):
//!
//! ```
//! use qnn_ir::DType;
//! use qnn_kernels::{ConvGeometry, ConvPlan, ConvProblem, EpilogueSpec, Scratch, ThreadPool};
//!
//! let problem = ConvProblem::int8(ConvGeometry::dense(1, 4, 2), DType::U8, DType::I8, 0);
//! let weights = [1, 2, 3, 4, -1, -2, -3, -4]; // OHWI: 2 outputs × 4 inputs
//! let epilogue = EpilogueSpec::raw(vec![100, 0]); // per-channel constant, i32 output
//! let plan = ConvPlan::best(&problem, &weights, &epilogue, qnn_kernels::portable::KERNELS)?;
//! let mut out = [0u8; 8];
//! plan.run(&[1, 1, 1, 2], &mut out, &mut Scratch::new(), &ThreadPool::new(2))?;
//! assert_eq!(i32::from_le_bytes(out[..4].try_into().unwrap()), 100 + 14);
//! assert_eq!(i32::from_le_bytes(out[4..].try_into().unwrap()), -14);
//! # Ok::<(), qnn_kernels::KernelError>(())
//! ```

pub mod aligned;
mod convert;
pub mod depthwise;
pub mod epilogue;
pub mod error;
pub mod gemm;
pub mod indirect;
pub mod layer;
pub mod pack;
pub mod portable;
pub mod problem;
pub mod threads;
#[cfg(target_arch = "x86_64")]
pub mod x86;

#[cfg(feature = "testing")]
pub mod testing;

pub use aligned::AlignedBytes;
pub use depthwise::DepthwisePlan;
pub use epilogue::{EpilogueSpec, PreparedEpilogue};
pub use error::KernelError;
pub use gemm::GemmPlan;
pub use layer::{ConvPlan, Scratch, applicable, choose, estimated_cost};
pub use pack::column_sums;
pub use problem::{ConvGeometry, ConvProblem};
pub use threads::ThreadPool;

/// A raw output pointer shared by tasks that write disjoint parts of it.
#[derive(Clone, Copy)]
pub(crate) struct SyncPtr(pub(crate) *mut u8);
// SAFETY: only used to hand the output to tasks that write disjoint regions (each driver
// documents its partition).
unsafe impl Sync for SyncPtr {}
// SAFETY: as above.
unsafe impl Send for SyncPtr {}

impl SyncPtr {
    /// The pointer (a method, so closures capture the `Sync` wrapper, not the field).
    pub(crate) fn get(self) -> *mut u8 {
        self.0
    }
}

pub(crate) fn check_len(
    what: &'static str,
    got: usize,
    expected: usize,
) -> Result<(), KernelError> {
    if got == expected { Ok(()) } else { Err(KernelError::Length { what, expected, got }) }
}

/// Names the conformance macro needs from the crates it expands in.
#[doc(hidden)]
pub mod __private {
    pub use qnn_ir::backend::KernelEntry;
}
