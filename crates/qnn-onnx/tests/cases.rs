//! The 50 single-op cases with ONNX Runtime's outputs (`fixtures/cases`, from the peers
//! data: QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger, QuantizeLinear,
//! DequantizeLinear and the com.microsoft ops, with ties, saturation, extreme zero points and
//! every padding mode): each imported model, run on the reference interpreter, must equal
//! ORT's output exactly.

mod common;

use common::{Outcome, check_npy_case, report, subdirs};

/// The case's family as its `meta.json` states it (`qlinearconv`, `contrib`, …).
fn family(dir: &std::path::Path) -> String {
    let meta: serde_json::Value = std::fs::read_to_string(dir.join("meta.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    meta["family"].as_str().unwrap_or("?").to_string()
}

#[test]
#[cfg_attr(
    miri,
    ignore = "runs the reference interpreter on a corpus of models: hours under Miri; api, malformed, limits, float_ops and fuzz_regressions cover the same parsing"
)]
fn single_op_cases_equal_onnx_runtime() {
    let mut outcomes = Vec::new();
    for dir in subdirs("cases") {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        outcomes.push(Outcome { family: family(&dir), name, error: check_npy_case(&dir).err() });
    }
    assert_eq!(outcomes.len(), 50, "the fixture set has 50 cases");
    report("single-op cases vs ONNX Runtime", &outcomes);
}
