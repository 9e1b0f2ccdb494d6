//! Benchmarks of qnn (see `benches/`): the layer suite and the whole models they share, the
//! instruction peaks of each ISA, and the decision benchmark behind `cargo xtask bench`.
//!
//! | bench (`cargo bench -p qnn-benches --bench …`) | compares |
//! |---|---|
//! | `decisions` | the main job: per layer and backend, both lowerings timed, what the Capability, CostModel and Measured policies pick and whether it was the fastest; JSON, Markdown and an SVG chart under `target/qnn-bench/` |
//! | `lowerings` | layer suite × every usable backend × both lowerings, through the legalizer and runtime (criterion) |
//! | `models` | both whole models × every usable backend × both lowerings, and per policy (criterion) |
//! | `x86_layers`, `arm_layers` | layer suite on each backend's kernels directly (`qnn-kernels` plans) |
//! | `x86_microkernels`, `arm_peaks` | microkernels and instruction peaks |
//!
//! Both main benchmarks are library functions, so that a backend crate outside the workspace
//! runs them with its backend linked from a bench target of its own:
//! [`decisions::main`] (`cargo xtask bench --with PATH`) and [`networks::main`] (given its
//! `qnn` binary). `examples/third-party-backend/benches/` shows both.

pub mod decisions;
pub mod models;
pub mod networks;
#[cfg(target_arch = "x86_64")]
pub mod peak;
#[cfg(target_arch = "aarch64")]
pub mod peak_arm;
pub mod suite;
