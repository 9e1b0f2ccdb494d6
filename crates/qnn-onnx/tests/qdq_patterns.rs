//! QDQ patterns (`fixtures/qdq`, made by `regenerate.py`): small models in the QDQ form that
//! quantizers emit — Conv (per tensor, per channel, with Relu/Relu6, depthwise, s8s8, opset
//! 21), Gemm/MatMul (with and without the output Q), Add/Mul (with every broadcasting case,
//! including ORT's operand swap), pooling, Concat, LeakyRelu, Sigmoid, Relu/Clip kept or
//! removed, Reshape/Flatten/Transpose/Squeeze/Unsqueeze, Pad, double Q/DQ pairs and a residual
//! block — with the outputs of ONNX Runtime's default (optimized) session. Each must be equal
//! exactly, including those where ORT's optimized and unoptimized outputs differ
//! (`index.json`).

mod common;

use common::{Outcome, check_npy_case, report, subdirs};

#[test]
#[cfg_attr(
    miri,
    ignore = "runs the reference interpreter on a corpus of models: hours under Miri; api, malformed, limits, float_ops and fuzz_regressions cover the same parsing"
)]
fn qdq_patterns_equal_onnx_runtime_default_session() {
    let mut outcomes = Vec::new();
    for dir in subdirs("qdq") {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let family = name.split('_').next().unwrap_or("").to_string();
        outcomes.push(Outcome { family, name, error: check_npy_case(&dir).err() });
    }
    assert!(outcomes.len() >= 40, "{} patterns", outcomes.len());
    report("QDQ patterns vs ONNX Runtime (default session)", &outcomes);
}
