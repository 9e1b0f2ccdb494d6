//! Mobile-network op cases (`fixtures/mobile_ops`, made by `fixtures/gen_mobile_ops.py`):
//! HardSigmoid / HardSwish (QOperator form fed all 256 input values), Relu / Clip / Relu6
//! between a DequantizeLinear and a QuantizeLinear, float GlobalAveragePool in MLAS's order,
//! the squeeze-excite broadcast Mul (QLinearMul and QDQ), QLinearSoftmax and QDQ Softmax,
//! Pad (edge, reflect, wrap, cropping), Slice, Split (several outputs), DepthToSpace /
//! SpaceToDepth, on u8 and i8, and MobileNetV3-style networks quantized by
//! `quantize_static` (QDQ and QOperator, u8 and s8). Imported and run on the reference
//! interpreter, every output must equal ONNX Runtime's bit for bit; the forms qnn refuses
//! (`fixtures/mobile_ops_refused`) must fail to import with an error naming the node.

mod common;

use common::{Outcome, check_npy_case, report, subdirs};

#[test]
#[cfg_attr(miri, ignore = "runs the reference interpreter on a corpus of models")]
fn mobile_op_cases_equal_onnx_runtime() {
    let mut outcomes = Vec::new();
    for dir in subdirs("mobile_ops") {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let family = name.split('_').next().unwrap_or_default().to_string();
        outcomes.push(Outcome { family, name, error: check_npy_case(&dir).err() });
    }
    assert!(outcomes.len() >= 120, "{} mobile op cases", outcomes.len());
    report("Mobile-network op cases vs ONNX Runtime (default session)", &outcomes);
}

/// The forms qnn refuses (`fixtures/mobile_ops_refused`): each import fails with an error that
/// names the node and says why, never a wrong answer.
#[test]
fn refused_mobile_forms_name_the_node() {
    let index = std::fs::read_to_string(common::fixture("mobile_ops_refused/index.json")).unwrap();
    let phrases: std::collections::BTreeMap<String, String> = serde_json::from_str(&index).unwrap();
    assert!(phrases.len() >= 8, "{} refused cases", phrases.len());
    for (name, phrase) in &phrases {
        let path = common::fixture(&format!("mobile_ops_refused/{name}/model.onnx"));
        let model = qnn_onnx::Model::from_path(&path).unwrap();
        let err = match model.import(&qnn_onnx::ImportOptions::default()) {
            Ok(_) => panic!("{name}: imported; qnn must refuse it ({phrase})"),
            Err(e) => e.to_string(),
        };
        assert!(err.starts_with("node "), "{name}: names no node: {err}");
        assert!(err.contains(phrase.as_str()), "{name}: `{phrase}` expected in: {err}");
    }
}
