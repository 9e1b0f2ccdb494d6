//! A [`DeviceConvSpec`] in the CPU frame's terms (`qnn-kernels`' [`ConvProblem`] and
//! [`EpilogueSpec`](qnn_kernels::EpilogueSpec), converted by `qnn_kernels::device`), so
//! that both sides validate a layer, prove its accumulator range and lay out its epilogue
//! with the same code.

use qnn_ir::DType;
use qnn_ir::backend::DeviceConvSpec;
use qnn_kernels::epilogue::check_accumulator_range;
use qnn_kernels::{ConvGeometry, ConvProblem, KernelError, PreparedEpilogue};

use crate::error::CudaError;

// Both directions live in the frame (`qnn-kernels`), where the runtime builds the spec
// without naming this crate.
use qnn_kernels::device::frame_of;
pub use qnn_kernels::device::spec_from_frame;

/// Which kernel family a layer goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Any conv (groups, stride, dilation, padding) or dense, not depthwise.
    Gemm,
    /// One input channel per group.
    Depthwise,
}

impl Family {
    /// The family of a geometry.
    pub fn of(g: &ConvGeometry) -> Family {
        if g.is_depthwise() { Family::Depthwise } else { Family::Gemm }
    }

    /// The registered kernel name.
    pub fn kernel(self) -> &'static str {
        match self {
            Family::Gemm => crate::CONV_KERNEL,
            Family::Depthwise => crate::DEPTHWISE_KERNEL,
        }
    }
}

/// A layer that passed every check.
#[derive(Debug)]
pub(crate) struct Checked {
    pub problem: ConvProblem,
    pub epilogue: PreparedEpilogue,
    pub out_hw: [usize; 2],
}

/// Checks that `family`'s kernel can compute `spec` exactly: s8×s8 operands, a valid
/// geometry, weights in range, an epilogue the kernels implement, and an accumulator range
/// that fits i32 for every partial sum (so dp4a's wrapping i32 adds are exact).
pub(crate) fn check(spec: &DeviceConvSpec, family: Family) -> Result<Checked, CudaError> {
    let kernel = family.kernel();
    let refuse = |why: String| CudaError::NotApplicable { kernel, why };
    if (spec.data, spec.weight) != (DType::I8, DType::I8) {
        return Err(refuse(format!(
            "dp4a takes s8×s8 operands (dtype legalization shifts u8 by −128), not {}×{}",
            spec.data, spec.weight
        )));
    }
    if Family::of(&spec.geometry) != family {
        let other = Family::of(&spec.geometry).kernel();
        return Err(refuse(format!(
            "the layer is {:?}: `{other}` computes it",
            Family::of(&spec.geometry)
        )));
    }
    let (problem, epilogue) = frame_of(spec);
    let out_hw = problem.validate()?;
    let g = &problem.geometry;
    if spec.weights.len() != g.weight_len() {
        return Err(KernelError::Length {
            what: "weights (OHWI)",
            expected: g.weight_len(),
            got: spec.weights.len(),
        }
        .into());
    }
    if let Some(&w) = spec.weights.iter().find(|&&w| !DType::I8.contains(i64::from(w))) {
        return Err(KernelError::ValueRange {
            what: "weight",
            value: i64::from(w),
            dtype: DType::I8,
        }
        .into());
    }
    let prepared = PreparedEpilogue::new(&epilogue, g.out_c, 0)?;
    check_accumulator_range(&problem, &spec.weights, &epilogue)?;
    Ok(Checked { problem, epilogue: prepared, out_hw })
}
