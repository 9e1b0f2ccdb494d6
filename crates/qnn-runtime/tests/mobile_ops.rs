//! The mobile-network op cases of qnn-onnx (`fixtures/mobile_ops`: HardSigmoid / HardSwish,
//! Clip / Relu, float GlobalAveragePool, the squeeze-excite broadcast Mul, Slice, Split,
//! DepthToSpace / SpaceToDepth, MobileNetV3-style networks in QDQ and QOperator form),
//! compiled by the runtime for the host and for every usable backend, at 1 and 2 threads:
//! each output must equal ONNX Runtime's bit for bit (qnn-onnx's `mobile_op_cases` checks
//! the same on the reference).

mod common;

use common::op_fixtures::assert_compiled_cases_equal_onnx_runtime;

#[test]
#[cfg_attr(miri, ignore = "compiles a corpus of models")]
fn mobile_op_cases_compiled_equal_onnx_runtime() {
    assert_compiled_cases_equal_onnx_runtime("mobile_ops", 120);
}
