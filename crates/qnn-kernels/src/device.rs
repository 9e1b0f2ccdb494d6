//! The CPU frame's description of a fused layer as a device backend's
//! [`DeviceConvSpec`], and back: the runtime hands a device backend (CUDA) the same
//! geometry, operands, OHWI weights and epilogue the CPU frame gets, through the contract
//! of `qnn-ir`, without naming the backend's crate; the backend validates the layer,
//! proves its accumulator range and lays out its epilogue with the frame's code.

use qnn_ir::IntSlice;
use qnn_ir::backend::{DeviceConvSpec, DeviceRequantize};

use crate::{ConvProblem, EpilogueSpec};

/// The device spec of a layer described for the CPU frame: geometry, int8 operands, OHWI
/// weights and the fused epilogue.
pub fn spec_from_frame<'w>(
    problem: &ConvProblem,
    weights: impl Into<IntSlice<'w>>,
    e: &EpilogueSpec,
) -> DeviceConvSpec {
    let weights = weights.into();
    DeviceConvSpec {
        geometry: problem.geometry.clone(),
        data: problem.data,
        weight: problem.weight,
        pad_value: problem.pad_value,
        // The device backend uploads its own layout from these (a transient copy).
        weights: weights.to_i32_vec(),
        channel_constant: e.bias.clone(),
        t3_zero_point: e.t3_zero_point.clone(),
        requantize: e.requant.clone().map(|scale| DeviceRequantize {
            scale,
            input_zero_point: e.input_zero_point,
            output_zero_point: e.zero_point,
        }),
        out_dtype: e.out_dtype,
        clamp: e.clamp,
    }
}

/// The frame's view of a device spec (the inverse of [`spec_from_frame`], weights aside).
pub fn frame_of(spec: &DeviceConvSpec) -> (ConvProblem, EpilogueSpec) {
    let problem = ConvProblem::int8(spec.geometry.clone(), spec.data, spec.weight, spec.pad_value);
    let rq = spec.requantize.as_ref();
    let epilogue = EpilogueSpec {
        bias: spec.channel_constant.clone(),
        t3_zero_point: spec.t3_zero_point.clone(),
        requant: rq.map(|r| r.scale.clone()),
        input_zero_point: rq.map_or(0, |r| r.input_zero_point),
        out_dtype: spec.out_dtype,
        zero_point: rq.map_or(0, |r| r.output_zero_point),
        clamp: spec.clamp,
    };
    (problem, epilogue)
}
