//! `qnn-kernels`: what every CPU backend shares (ARCHITECTURE.md §3, §6).
//!
//! * [`ConvProblem`]: a fused quantized conv2d/dense in NHWC, operands u8/i8/i16, with its
//!   [`EpilogueSpec`] (per-channel constant, T3, requantize, clamp);
//! * prepacking of weights into the panel format of a kernel's tile ([`pack`]), indirect
//!   convolution ([`indirect`]): no im2col copy, 1×1 layers read the input directly;
//! * the drivers ([`GemmPlan`], [`DepthwisePlan`]) that split work over a [`ThreadPool`]
//!   with results independent of the thread count;
//! * the generic epilogue arithmetic ([`epilogue::lanes`]) that backends instantiate inside
//!   their `#[target_feature]` microkernels;
//! * portable scalar microkernels ([`portable`]) that define the ABI by example;
//! * the conformance suite ([`conformance_tests!`], feature `testing`).
//!
//! The runtime's entry point is [`ConvPlan`]:
//!
//! ```ignore
//! let entry = qnn_kernels::choose(qnn_ir::backend::registry::kernels(), &problem).unwrap();
//! let plan = ConvPlan::new(&problem, &weights_ohwi, &epilogue, entry)?;   // plan time
//! plan.run(input_bytes, output_bytes, &mut scratch, &pool)?;               // run time
//! ```

pub mod aligned;
mod convert;
pub mod depthwise;
pub mod epilogue;
pub mod error;
pub mod gemm;
pub mod indirect;
pub mod pack;
pub mod plan;
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
pub use pack::column_sums;
pub use plan::{ConvPlan, Scratch, applicable, choose, estimated_cost};
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
