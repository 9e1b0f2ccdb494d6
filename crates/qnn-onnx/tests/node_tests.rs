//! ONNX's own backend node tests for the quantization operators (`test_qlinearconv`,
//! `test_qlinearmatmul_*`, `test_convinteger_*`, `test_matmulinteger`, `test_quantizelinear*`,
//! `test_dequantizelinear*`), from two onnx versions (`fixtures/node`). Their expected outputs
//! are ONNX's reference implementation's.
//!
//! Every test that ONNX Runtime passes must pass here exactly. The four int8 QLinearMatMul
//! tests of onnx 1.16.2 have wrong expected outputs (they wrap where the op saturates; ORT and
//! onnx 1.23 saturate): there the importer must equal ORT's output, stored beside them as
//! `ort_output_<k>.npy`. The tests ORT cannot run (see `fixtures/node/index.json`: opset 28
//! models, float8/int4/uint16 element types) are listed with the reason and run for
//! information only.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Outcome, difference, fixture, numbered, report, subdirs};
use qnn_onnx::{ImportOptions, Model, tensor_from_pb};

const OPS: [&str; 6] = [
    "test_qlinearconv",
    "test_qlinearmatmul",
    "test_convinteger",
    "test_matmulinteger",
    "test_quantizelinear",
    "test_dequantizelinear",
];

fn run(dir: &Path, against_ort: bool) -> Result<(), String> {
    let model = Model::from_path(dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let data = dir.join("test_data_set_0");
    let read = |p: &Path| {
        let bytes = std::fs::read(p).map_err(|e| e.to_string())?;
        let file = p.file_name().unwrap_or_default().to_string_lossy().to_string();
        tensor_from_pb(&bytes).map_err(|e| format!("{file}: {e}"))
    };
    let declared = model.inputs().map_err(|e| e.to_string())?;
    let values =
        numbered(&data, "input", "pb").iter().map(|p| read(p)).collect::<Result<Vec<_>, _>>()?;
    if values.len() != declared.len() {
        return Err(format!("{} inputs for {} graph inputs", values.len(), declared.len()));
    }
    // Scales and zero points are graph inputs here: bind them as the importer needs.
    let statics = model.static_inputs();
    let mut opts = ImportOptions::default();
    let mut inputs = Vec::new();
    for (info, v) in declared.iter().zip(values) {
        if statics.contains(&info.name) {
            opts.bindings.insert(info.name.clone(), v);
        } else {
            inputs.push(v.to_tensor().ok_or_else(|| {
                format!("input `{}` of type {} is not supported", info.name, v.ty)
            })?);
        }
    }
    let imported = model.import(&opts).map_err(|e| format!("import: {e}"))?;
    let got = qnn_ir::reference::run(&imported.graph, &inputs).map_err(|e| format!("run: {e}"))?;
    let expected = numbered(
        &data,
        if against_ort { "ort_output" } else { "output" },
        if against_ort { "npy" } else { "pb" },
    );
    if expected.len() != got.len() {
        return Err(format!("{} outputs expected, got {}", expected.len(), got.len()));
    }
    for (k, (p, g)) in expected.iter().zip(&got).enumerate() {
        let e = if against_ort {
            qnn_npy::read(p).map_err(|e| e.to_string())?
        } else {
            read(p)?.to_tensor().ok_or("expected output of an unsupported type")?
        };
        if let Some(d) = difference(&e, g) {
            return Err(format!("output {k}: {d}"));
        }
    }
    Ok(())
}

#[test]
#[cfg_attr(
    miri,
    ignore = "runs the reference interpreter on a corpus of models: hours under Miri; api, malformed, limits, float_ops and fuzz_regressions cover the same parsing"
)]
fn onnx_node_tests_equal_their_expected_outputs() {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("node/index.json")).unwrap())
            .unwrap();
    let mut required = Vec::new();
    let mut ort_fails = BTreeMap::new();
    for set in ["onnx-1.16.2", "onnx-1.23.2"] {
        for dir in subdirs(&format!("node/{set}")) {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            if !OPS.iter().any(|p| name.starts_with(p)) {
                continue;
            }
            let ort = index["sets"][set]["tests"][&name]["ort"].as_str().unwrap_or("?").to_string();
            let wrong_expectation = ort == "runs, output differs";
            let error = run(&dir, wrong_expectation).err();
            if ort == "exact" {
                required.push(Outcome { family: set.into(), name, error });
            } else if wrong_expectation {
                let family = format!("{set} (vs ORT's output)");
                required.push(Outcome { family, name, error });
            } else {
                let outcome = Outcome { family: set.into(), name: name.clone(), error };
                ort_fails.insert(format!("{set}/{name}"), (ort, outcome.error));
            }
        }
    }
    println!("node tests ONNX Runtime fails (not required), with what the importer does:");
    for (name, (ort, ours)) in &ort_fails {
        let ort: String = ort.chars().take(90).collect();
        match ours {
            None => println!("  {name:58} ORT: {ort} | qnn: exact"),
            Some(e) => println!(
                "  {name:58} ORT: {ort} | qnn: {}",
                e.chars().take(110).collect::<String>()
            ),
        }
    }
    assert_eq!(required.len() + ort_fails.len(), 72, "both onnx versions' quantization node tests");
    report("ONNX node tests that ONNX Runtime passes", &required);
}
