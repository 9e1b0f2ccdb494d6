//! `qnn-tune`: choosing lowerings by measuring them on this machine, and fitting the cost
//! model to this machine.
//!
//! * [`Measured`] — a [`LoweringPolicy`](qnn_legalize::LoweringPolicy) that times both
//!   lowerings of each conv/dense signature with each candidate backend's best kernel (short,
//!   warm, alternating, medians), picks the fastest, and caches the times in a readable JSON
//!   file ([`DecisionCache`]) keyed by backend, CPU model and features, threads and
//!   signature; what it cannot measure the [`CostModel`](qnn_legalize::CostModel) decides.
//! * [`calibrate`] — times each backend's kernel classes on a few shapes and fits the cost
//!   model's figures ([`Calibration`](qnn_legalize::policy::Calibration)), so that the cost
//!   model predicts well where measuring is not possible.
//!
//! **Why a crate of its own.** Measuring means compiling and running a single-op model with
//! the runtime (fusion, kernel choice, prepacking), and the runtime depends on
//! `qnn-legalize`; the policy therefore lives above both
//! (`qnn-legalize ◄ qnn-runtime ◄ qnn-tune`) and reaches the legalizer, as every policy does,
//! through the `LoweringPolicy` trait object the runtime's `CompileOptions` holds. The
//! calibration's data type lives in `qnn-legalize`, so the cost model can load it without
//! this crate.

pub mod cache;
pub mod calibrate;
pub mod error;
pub mod machine;
pub mod measure;
pub mod measured;
pub mod single_op;
pub mod timing;

pub use cache::DecisionCache;
pub use calibrate::{CalibrationRun, calibrate};
pub use error::TuneError;
pub use machine::MachineKey;
pub use measured::Measured;
pub use timing::MeasureSettings;
