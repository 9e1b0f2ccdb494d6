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
//! * the drivers of the kernels around convolutions: [`PoolPlan`] (max, ONNX Runtime's f32
//!   average and the i32 window sum over NHWC windows, padding by pointer to a pad pixel,
//!   global windows, output into a channel slice), [`ElementwisePlan`] (QLinearAdd, table
//!   lookups built by [`lookup_table`], quantize, dequantize over chunks) and
//!   [`TransposePlan`] (NCHW ↔ NHWC in tiles, optionally quantizing or dequantizing), each
//!   with its kernel chosen by [`choose_pool`], [`choose_elementwise`] or [`choose_transpose`]
//!   in a backend preference order;
//! * the generic epilogue arithmetic ([`epilogue::lanes`]) that backends instantiate inside
//!   their `#[target_feature]` microkernels, and x86 store helpers ([`x86`]);
//! * scalar microkernels in plain Rust ([`scalar`]) that define the ABI by example (what
//!   `backend-portable` registers, and the frame's own test subjects);
//! * one declaration per kernel ([`kernel!`]: the entry, its registration and its
//!   conformance suite), the run-time CPU feature probe of every backend ([`cpu_probe!`]);
//! * the conformance suites (feature `testing`): `conformance_tests!` (conv, depthwise,
//!   dense), `pool_conformance_tests!`, `elementwise_conformance_tests!`,
//!   `transpose_conformance_tests!`, each against the reference interpreter of `qnn-ir`.
//!
//! The runtime's entry point is [`ConvPlan`]: plan once (checks, range proof, weight
//! prepacking), run many times, from any number of threads, each with its own [`Scratch`].
//! Here a 4 → 2 dense layer with raw i32 output on the scalar test kernels (a runtime passes
//! `qnn_ir::backend::registry::kernels()` instead, the kernels of the backends it links):
//!
//! ```
//! use qnn_ir::DType;
//! use qnn_kernels::{ConvGeometry, ConvPlan, ConvProblem, EpilogueSpec, Scratch, ThreadPool};
//!
//! let problem = ConvProblem::int8(ConvGeometry::dense(1, 4, 2), DType::U8, DType::I8, 0);
//! let weights = [1, 2, 3, 4, -1, -2, -3, -4]; // OHWI: 2 outputs × 4 inputs
//! let epilogue = EpilogueSpec::raw(vec![100, 0]); // per-channel constant, i32 output
//! let plan = ConvPlan::best(&problem, &weights, &epilogue, qnn_kernels::scalar::KERNELS)?;
//! let mut out = [0u8; 8];
//! plan.run(&[1, 1, 1, 2], &mut out, &mut Scratch::new(), &ThreadPool::new(2))?;
//! assert_eq!(i32::from_le_bytes(out[..4].try_into().unwrap()), 100 + 14);
//! assert_eq!(i32::from_le_bytes(out[4..].try_into().unwrap()), -14);
//! # Ok::<(), qnn_kernels::KernelError>(())
//! ```
//!
//! The other plans work the same way; a 2×2 max pool of one u8 channel:
//!
//! ```
//! use qnn_ir::DType;
//! use qnn_kernels::{PoolGeometry, PoolPlan, PoolProblem, ThreadPool};
//!
//! let geometry = PoolGeometry { kernel: [2, 2], strides: [2, 2], ..PoolGeometry::global(1, 2, 4, 1) };
//! let problem = PoolProblem::max(geometry, DType::U8);
//! let entry = qnn_kernels::scalar::data_kernel("scalar_pool_max_i8").unwrap(); // i8 …
//! assert!(PoolPlan::new(&problem, entry).is_err()); // … does not take u8 data
//! let entry = qnn_kernels::scalar::pool_max_entry::<qnn_kernels::scalar::U8>("example");
//! let plan = PoolPlan::new(&problem, &entry)?;
//! let mut out = [0u8; 2];
//! plan.run(&[1, 5, 2, 0, 3, 4, 9, 8], &mut out, &ThreadPool::new(1))?;
//! assert_eq!(out, [5, 9]);
//! # Ok::<(), qnn_kernels::KernelError>(())
//! ```

pub mod aligned;
mod convert;
pub mod declare;
pub mod depthwise;
pub mod device;
pub mod elementwise;
pub mod epilogue;
pub mod error;
pub mod gemm;
pub mod indirect;
pub mod layer;
pub mod pack;
pub mod pool;
pub mod probe;
pub mod problem;
pub mod scalar;
pub mod select;
pub mod threads;
pub mod transpose;
#[cfg(target_arch = "x86_64")]
pub mod x86;

#[cfg(feature = "testing")]
pub mod testing;

pub use aligned::AlignedBytes;
pub use depthwise::DepthwisePlan;
pub use elementwise::{
    ElementwisePlan, ElementwiseProblem, ElementwiseSpec, choose_elementwise,
    elementwise_applicable, lookup_table,
};
pub use epilogue::{EpilogueSpec, PreparedEpilogue};
pub use error::KernelError;
pub use gemm::GemmPlan;
pub use layer::{ConvPlan, Scratch, applicable, choose, estimated_cost, fits_operands};
pub use pack::column_sums;
pub use pool::{PoolGeometry, PoolPlan, PoolProblem, choose_pool, pool_applicable};
pub use problem::{ConvGeometry, ConvProblem};
pub use select::choose_in_order;
pub use threads::ThreadPool;
pub use transpose::{TransposePlan, TransposeProblem, choose_transpose, transpose_applicable};

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

/// Names the declaration and conformance macros need from the crates they expand in.
#[doc(hidden)]
pub mod __private {
    pub use qnn_ir::backend::inventory;
    pub use qnn_ir::backend::{DepthwiseArgs, KernelEntry, KernelImpl};
}
