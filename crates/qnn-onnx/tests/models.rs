//! Whole quantized models (MobileNetV2-style and ResNet-style; QOperator and QDQ; per-tensor
//! and per-channel weights) against ONNX Runtime's outputs (`fixtures/models`).
//!
//! QOperator models must equal ORT exactly. QDQ models must equal ORT's default (optimized)
//! session, which folds the Q/DQ groups into QLinear ops as the importer does; no element may
//! differ (a difference would need a written reason here, and there is none).

mod common;

use std::time::Instant;

use common::{Outcome, difference, fixture, report, run_model};
use qnn_onnx::{Form, ImportOptions, Model, OnnxType};

fn check(name: &str, net: &str) -> Result<(), String> {
    let model =
        Model::from_path(fixture(&format!("models/{name}.onnx"))).map_err(|e| e.to_string())?;
    let input =
        qnn_npy::read(fixture(&format!("models/{net}_input.npy"))).map_err(|e| e.to_string())?;
    let expected =
        qnn_npy::read(fixture(&format!("models/{name}_output.npy"))).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let (imported, got) = run_model(&model, &ImportOptions::default(), &[input])?;
    println!(
        "  {name}: {} qnn nodes, reference run {:.1} s",
        imported.graph.nodes.len(),
        t.elapsed().as_secs_f64()
    );
    // The MACs of the summary are the model's (models.json, from the float model).
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("models/models.json")).unwrap())
            .unwrap();
    let macs: u64 = imported.nodes.iter().map(|n| n.macs).sum();
    if Some(macs) != index["models"][name]["macs"].as_u64() {
        return Err(format!("{macs} MACs, models.json says {}", index["models"][name]["macs"]));
    }
    let (i, o) = (&imported.inputs[0], &imported.outputs[0]);
    if imported.inputs.len() != 1
        || i.elem_type != OnnxType::FLOAT
        || o.elem_type != OnnxType::FLOAT
    {
        return Err(format!("inputs {:?}, outputs {:?}", imported.inputs, imported.outputs));
    }
    if name.contains("qdq") {
        // Every Conv/Add/Gemm/pool group was folded (nothing ran in float).
        let float: Vec<_> = imported
            .nodes
            .iter()
            .filter(|n| n.form == Form::Float)
            .map(|n| n.name.clone())
            .collect();
        if !float.is_empty() {
            return Err(format!("float ops left: {float:?}"));
        }
    }
    match difference(&expected, &got[0]) {
        None => Ok(()),
        Some(d) => Err(d),
    }
}

/// One test per model, so that they run in parallel (each takes 5–10 s on the reference
/// interpreter in the test profile).
macro_rules! model_tests {
    ($($test:ident: $name:literal, $net:literal;)*) => {$(
        #[test]
        #[cfg_attr(miri, ignore = "whole models on the reference interpreter: hours under Miri")]
        fn $test() {
            let family = if $name.contains("qdq") { "QDQ" } else { "QOperator" };
            let outcome = Outcome { family: family.into(), name: $name.into(), error: check($name, $net).err() };
            report("whole model vs ONNX Runtime", &[outcome]);
        }
    )*};
}

model_tests! {
    mobilenetv2_qop_pt: "mobilenetv2_qop_pt", "mobilenetv2";
    mobilenetv2_qop_pc: "mobilenetv2_qop_pc", "mobilenetv2";
    mobilenetv2_qdq_pt: "mobilenetv2_qdq_pt", "mobilenetv2";
    mobilenetv2_qdq_pc: "mobilenetv2_qdq_pc", "mobilenetv2";
    resnet_qop_pt: "resnet_qop_pt", "resnet";
    resnet_qop_pc: "resnet_qop_pc", "resnet";
    resnet_qdq_pt: "resnet_qdq_pt", "resnet";
    resnet_qdq_pc: "resnet_qdq_pc", "resnet";
}
