//! Device placement: a fused conv/dense on an accelerator backend (`cuda-dp4a`).
//!
//! A device backend owns everything from weight packing to the launch (its memory is
//! elsewhere), so the runtime hands it the whole fused layer as plain data, a
//! [`DeviceConvSpec`]: the same geometry, operands, OHWI weights and epilogue the CPU frame
//! gets ([`qnn_kernels::device::spec_from_frame`]), through the contract alone: the runtime
//! names no device backend's crate. Then, per backend in order of preference:
//!
//! 1. `applicable(spec)` — does a kernel compute this layer exactly? Checks the spec only and
//!    touches no device, so a plan for `cuda` can be made on a machine without a GPU
//!    ([`Compiler::plan`](crate::Compiler::plan));
//! 2. `prepare(spec)` — at compile time, once per plan: kernels compiled, weights uploaded
//!    and prepacked on the device;
//! 3. `run(input, output)` — at run time the runtime moves the step's NHWC input to the
//!    device and its output back ([`PreparedDeviceOp::run`]).
//!
//! A layer no device kernel takes, or one whose preparation fails, goes to the next backend
//! (the CPU ones and finally `portable`), and the report says why.

use qnn_ir::backend::{DeviceConvSpec, PreparedDeviceOp, registry};
use qnn_legalize::target::cpus;

use crate::optimize::dataflow::ConvSpec;

/// Whether device ops are prepared (a compilation) or only placed (a plan for inspection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceMode {
    Prepare,
    PlanOnly,
}

/// The note of a device op placed but not prepared.
pub(crate) const PLANNED_ONLY: &str = "planned only (Compiler::plan): not prepared on a device";

/// True for a backend that runs on a device rather than through the CPU frame: one that
/// registers device kernels, or whose architecture is a device (CUDA, or one a registered
/// target descriptor declares a device).
pub(crate) fn is_device_backend(name: &str) -> bool {
    !registry::device_kernels_of(name).is_empty()
        || registry::backend(name).is_some_and(|d| cpus::is_device(d.arch))
}

/// The device description of a fused op, or why it has none: device kernels take the int8
/// operands as they are; the int16 lowering's widening (with its fused data offset) is a
/// CPU-frame form.
pub(crate) fn device_spec(spec: &ConvSpec) -> Result<DeviceConvSpec, String> {
    if spec.problem.data_offset != 0 {
        return Err(format!(
            "device kernels take int8 operands as they are, not a data offset ({:+}) fused \
             into a widening",
            spec.problem.data_offset
        ));
    }
    Ok(qnn_kernels::device::spec_from_frame(&spec.problem, spec.weight_values(), &spec.epilogue))
}

/// A fused op placed on a device kernel.
#[derive(Debug)]
pub(crate) struct Placement {
    /// The prepared op (weights resident); `None` when only planned ([`DeviceMode::PlanOnly`]).
    pub op: Option<Box<dyn PreparedDeviceOp>>,
    pub backend: &'static str,
    pub kernel: &'static str,
    pub note: String,
}

/// Places `spec` on the first of `backend`'s device kernels whose `applicable` accepts it,
/// and (in [`DeviceMode::Prepare`]) prepares it there. `Err`: why the backend cannot take it.
pub(crate) fn place(spec: &ConvSpec, backend: &str, mode: DeviceMode) -> Result<Placement, String> {
    let kernels = registry::device_kernels_of(backend);
    if kernels.is_empty() {
        return Err(format!("{backend} registers no device kernel"));
    }
    let dspec =
        device_spec(spec).map_err(|why| format!("{backend} has no kernel for it ({why})"))?;
    let mut why_not: Vec<String> = Vec::new();
    for k in kernels {
        if let Err(why) = (k.applicable)(&dspec) {
            why_not.push(why);
            continue;
        }
        if mode == DeviceMode::PlanOnly {
            let note = PLANNED_ONLY.to_string();
            return Ok(Placement { op: None, backend: k.backend, kernel: k.name, note });
        }
        if let Some(Err(why)) = registry::backend(backend).map(|d| d.probe()) {
            return Err(format!("{backend} cannot run on this machine ({why})"));
        }
        match (k.prepare)(&dspec) {
            Ok(op) => {
                let note = format!("device: {}", op.describe());
                return Ok(Placement { op: Some(op), backend: k.backend, kernel: k.name, note });
            }
            Err(why) => why_not.push(format!("kernel `{}` could not be prepared: {why}", k.name)),
        }
    }
    Err(format!("{backend} has no kernel for it ({})", why_not.join("; ")))
}
