//! The backend plugin contract (ARCHITECTURE.md §5).
//!
//! A backend is one crate that submits, through [`inventory::submit!`], one
//! [`BackendDescriptor`] and any number of [`KernelEntry`]s (CPU microkernels) or
//! [`DeviceKernelEntry`]s (whole fused layers on an accelerator), and optionally
//! [`TargetDescriptor`]s (architectures, CPU names and features for named targets). The
//! legalizer reads descriptors;
//! the runtime reads kernels. Both only see backends that are linked into the final binary:
//! a crate that nothing names is dropped by the linker, silently. Every binary, test or bench
//! that wants a backend therefore names it:
//!
//! ```text
//! use backend_x86_vnni as _;
//! ```
//!
//! and [`registry::backends`] lists what is registered, so a missing backend is visible.

pub mod data_kernels;
pub mod descriptor;
pub mod device;
pub mod geometry;
pub mod kernel;
pub mod registry;
pub mod target;

pub use data_kernels::{
    ElementwiseArgs, ElementwiseKind, ElementwiseMicrokernel, ElementwiseOp, PoolArgs, PoolKind,
    PoolMicrokernel, PoolOp, TransposeArgs, TransposeConvert, TransposeConvertKind,
    TransposeMicrokernel,
};
pub use descriptor::{Arch, BackendDescriptor, Capabilities, Int8Dot, KernelClass, KernelCost};
pub use device::{DeviceConvSpec, DeviceKernelEntry, DeviceRequantize, PreparedDeviceOp};
pub use geometry::ConvGeometry;
pub use kernel::{
    DepthwiseArgs, DepthwiseMicrokernel, Epilogue, GemmMicrokernel, GemmTile, IndirectGemmArgs,
    IndirectGemmMicrokernel, KernelEntry, KernelImpl, PanelLayout, RequantLanes, TileOutput,
    WeightConstraint,
};
pub use target::{NamedCpu, TargetDescriptor, TargetFeature};

/// Version of this contract. A backend built against another version is refused by the
/// registry's checks, because the function-pointer signatures may have changed.
pub const BACKEND_ABI_VERSION: u32 = 4;

pub use inventory;
