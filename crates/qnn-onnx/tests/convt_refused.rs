//! The ConvTranspose forms qnn refuses (`fixtures/convt_refused`, made by
//! `fixtures/gen_convt.py`): each import fails with an error that names the node and says
//! why, never a wrong answer.

mod common;

#[test]
fn refused_conv_transpose_forms_name_the_node() {
    let index = std::fs::read_to_string(common::fixture("convt_refused/index.json")).unwrap();
    let phrases: std::collections::BTreeMap<String, String> = serde_json::from_str(&index).unwrap();
    assert!(phrases.len() >= 8, "{} refused cases", phrases.len());
    for (name, phrase) in &phrases {
        let path = common::fixture(&format!("convt_refused/{name}/model.onnx"));
        let model = qnn_onnx::Model::from_path(&path).unwrap();
        let err = match model.import(&qnn_onnx::ImportOptions::default()) {
            Ok(_) => panic!("{name}: imported; qnn must refuse it ({phrase})"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("node `convt` (ConvTranspose)"), "{name}: names no node: {err}");
        assert!(err.contains(phrase.as_str()), "{name}: `{phrase}` expected in: {err}");
        println!("{name}: {err}");
    }
}
