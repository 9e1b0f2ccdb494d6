//! Detection / segmentation op cases (`fixtures/ops`, made by `fixtures/gen_ops.py`): `Resize`
//! on u8 / i8 data in every mode, nearest mode, coordinate transform, scales or sizes, axes,
//! aspect-ratio policy and opset ONNX Runtime runs, in QOperator form and folded from QDQ
//! (cubic only in float: ORT's cubic kernel fails on 8-bit tensors), and `yolo_tiny_qdq`, a
//! small YOLO-style network in QDQ form. Imported and run on the reference interpreter, each
//! output must equal ONNX Runtime's bit for bit; the forms qnn refuses (`fixtures/ops_refused`)
//! must fail to import with an error naming the node.

mod common;

use common::{Outcome, check_npy_case, report, subdirs};

#[test]
#[cfg_attr(miri, ignore = "runs the reference interpreter on a corpus of models")]
fn op_cases_equal_onnx_runtime() {
    let mut outcomes = Vec::new();
    for dir in subdirs("ops") {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let family = name.split('_').take(2).collect::<Vec<_>>().join("_");
        outcomes.push(Outcome { family, name, error: check_npy_case(&dir).err() });
    }
    assert!(outcomes.len() >= 150, "{} op cases", outcomes.len());
    report("Detection op cases vs ONNX Runtime (default session)", &outcomes);
}

/// The Resize forms qnn refuses (`fixtures/ops_refused`): each import fails with an error
/// that names the node and says why, never a wrong answer.
#[test]
fn refused_resize_forms_name_the_node() {
    let index = std::fs::read_to_string(common::fixture("ops_refused/index.json")).unwrap();
    let phrases: std::collections::BTreeMap<String, String> = serde_json::from_str(&index).unwrap();
    assert!(phrases.len() >= 5, "{} refused cases", phrases.len());
    for (name, phrase) in &phrases {
        let path = common::fixture(&format!("ops_refused/{name}/model.onnx"));
        let model = qnn_onnx::Model::from_path(&path).unwrap();
        let err = match model.import(&qnn_onnx::ImportOptions::default()) {
            Ok(_) => panic!("{name}: imported; qnn must refuse it ({phrase})"),
            Err(e) => e.to_string(),
        };
        let op = if name.starts_with("upsample") { "(Upsample)" } else { "(Resize)" };
        assert!(err.starts_with("node ") && err.contains(op), "{name}: names no node: {err}");
        assert!(err.contains(phrase.as_str()), "{name}: `{phrase}` expected in: {err}");
    }
}
