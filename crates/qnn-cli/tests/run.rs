//! `qnn run`: the runner contract of the peers' `check_outputs.py` on the repository's copy
//! of its corpus — every single-op case, the ONNX node tests ONNX Runtime passes, and the
//! eight quantized models — compared bit for bit; and the timing options.

mod common;

use std::path::Path;

use common::*;

/// Runs `model` on `inputs` into a fresh folder; the outputs `output_<k>.npy`.
fn run_model(
    model: &Path,
    inputs: &[std::path::PathBuf],
    extra: &[&str],
) -> Result<Vec<std::path::PathBuf>, String> {
    let out = scratch("run");
    let mut args = vec!["run", s(model)];
    for i in inputs {
        args.extend(["-i", s(i)]);
    }
    args.extend(["-o", s(&out)]);
    args.extend(extra);
    let o = qnn(&args);
    if !o.status.success() {
        return Err(stderr(&o));
    }
    Ok(numbered(&out, "output", "npy"))
}

/// Every output equals its reference file exactly.
fn check(
    name: &str,
    got: Result<Vec<std::path::PathBuf>, String>,
    want: &[std::path::PathBuf],
) -> Option<String> {
    let got = match got {
        Ok(g) => g,
        Err(e) => return Some(format!("{name}: {e}")),
    };
    if got.len() != want.len() {
        return Some(format!("{name}: {} outputs, {} expected", got.len(), want.len()));
    }
    got.iter()
        .zip(want)
        .enumerate()
        .find_map(|(k, (g, w))| same_npy(g, w).err().map(|e| format!("{name}: output {k}: {e}")))
}

#[test]
fn the_eight_models_equal_onnx_runtime() {
    let names = [
        "mobilenetv2_qop_pt",
        "mobilenetv2_qop_pc",
        "mobilenetv2_qdq_pt",
        "mobilenetv2_qdq_pc",
        "resnet_qop_pt",
        "resnet_qop_pc",
        "resnet_qdq_pt",
        "resnet_qdq_pc",
    ];
    let failures: Vec<String> = names
        .iter()
        .filter_map(|n| check(n, run_model(&model(n), &[model_input(n)], &[]), &[model_output(n)]))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Threads, a forced backend, the capability policy and a forced lowering change the plan,
/// never the bits.
#[test]
fn options_change_the_plan_not_the_bits() {
    let n = "resnet_qop_pc";
    for extra in [
        &["--threads", "1"][..],
        &["--threads", "2", "--policy", "capability"],
        &["--backend", "x86-avx2"],
        &["--backend", "portable", "--lowering", "int16-upcast"],
        &["--target", "x86_64-unknown-linux-gnu:haswell"],
        &["--reference"],
    ] {
        if extra.contains(&"x86-avx2") && !std::arch::is_x86_feature_detected!("avx2") {
            continue;
        }
        let r = run_model(&model(n), &[model_input(n)], extra);
        assert_eq!(check(n, r, &[model_output(n)]), None, "{extra:?}");
    }
    // QNN_BACKEND does what --backend does.
    let out = scratch("env");
    let o = qnn_env(
        &["run", s(&model(n)), "-i", s(&model_input(n)), "-o", s(&out), "--report"],
        &[("QNN_BACKEND", "portable")],
    );
    let text = ok(&o);
    assert!(text.contains("forced backend") || text.contains("portable"), "{text}");
    assert_eq!(same_npy(&out.join("output_0.npy"), &model_output(n)), Ok(()));
}

#[test]
fn single_op_cases_equal_onnx_runtime() {
    let dir = fixtures().join("cases");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 50);
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let name = c.file_name().unwrap().to_string_lossy().to_string();
            let got = run_model(&c.join("model.onnx"), &numbered(c, "input", "npy"), &[]);
            check(&name, got, &numbered(c, "output", "npy"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// ONNX's node tests that ONNX Runtime passes (fixtures/node/index.json), their inputs
/// converted from `.pb` (scales and zero points among them, bound as constants; weights
/// given as graph inputs, bound too), against the expected outputs — or ORT's where the
/// expectation is wrong (onnx 1.16.2's int8 QLinearMatMul). Includes the uint16
/// QuantizeLinear / DequantizeLinear tests: uint16 files in and out. DynamicQuantizeLinear
/// (parameters computed at run time) is not imported; see the crate README.
#[test]
fn onnx_node_tests_that_onnx_runtime_passes() {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("node/index.json")).unwrap())
            .unwrap();
    let mut failures = Vec::new();
    let mut ran = 0;
    for set in ["onnx-1.16.2", "onnx-1.23.2"] {
        let tests = index["sets"][set]["tests"].as_object().unwrap();
        for (name, t) in tests {
            let ort = t["ort"].as_str().unwrap();
            let dir = fixtures().join("node").join(set).join(name);
            let data = dir.join("test_data_set_0");
            if name.starts_with("test_dynamicquantizelinear") || !data.exists() {
                continue;
            }
            let tmp = scratch("node");
            // ORT fails this 4-input ConvInteger; qnn computes ONNX's expected output.
            let ort_fails_qnn_passes =
                set == "onnx-1.23.2" && name == "test_convinteger_with_padding";
            let want = match ort {
                "exact" => pb_to_npy(&data, "output", &tmp),
                _ if ort_fails_qnn_passes => pb_to_npy(&data, "output", &tmp),
                "runs, output differs" => numbered(&data, "ort_output", "npy"),
                _ => continue,
            };
            ran += 1;
            let inputs = pb_to_npy(&data, "input", &tmp);
            if let Some(f) = check(
                &format!("{set}/{name}"),
                run_model(&dir.join("model.onnx"), &inputs, &[]),
                &want,
            ) {
                failures.push(f);
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // 34 that ORT passes (DynamicQuantizeLinear's 12 aside: not imported) and one it fails.
    assert_eq!(ran, 35);
}

#[test]
fn uint16_outputs_are_written_as_uint16() {
    let data = fixtures().join("node/onnx-1.16.2/test_quantizelinear_uint16/test_data_set_0");
    let tmp = scratch("u16");
    let inputs = pb_to_npy(&data, "input", &tmp);
    let out = run_model(
        &fixtures().join("node/onnx-1.16.2/test_quantizelinear_uint16/model.onnx"),
        &inputs,
        &[],
    )
    .unwrap();
    let (t, ty) = qnn_npy::read_typed(&out[0]).unwrap();
    assert_eq!(ty, qnn_npy::NpyType::U16);
    let v = t.to_i64().unwrap();
    assert!(v.iter().any(|&x| x > 255) && v.iter().all(|&x| (0..=65535).contains(&x)), "{v:?}");
}

#[test]
fn repeat_reports_the_median_of_the_timed_runs() {
    let n = "resnet_qop_pt";
    let out = scratch("repeat");
    let o = qnn(&[
        "run",
        s(&model(n)),
        "-i",
        s(&model_input(n)),
        "-o",
        s(&out),
        "--repeat",
        "5",
        "--warmup",
        "2",
        "--threads",
        "1",
        "--json",
    ]);
    let line = ok(&o);
    let j: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(j["runs"], 5);
    assert_eq!(j["threads"], 1);
    assert_eq!(j["engine"], "compiled");
    let mut t: Vec<f64> =
        j["times_ms"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(t.len(), 5);
    t.sort_by(f64::total_cmp);
    assert_eq!(j["median_ms"].as_f64().unwrap(), t[2]);
    assert_eq!(j["min_ms"].as_f64().unwrap(), t[0]);
    assert_eq!(same_npy(&out.join("output_0.npy"), &model_output(n)), Ok(()));

    let text = ok(&qnn(&[
        "run",
        s(&model(n)),
        "-i",
        s(&model_input(n)),
        "-o",
        s(&out),
        "--repeat",
        "3",
        "--profile",
    ]));
    assert!(text.contains("latency median") && text.contains("over 3 runs"), "{text}");
    assert!(text.contains("profile: median per step over 3 runs"), "{text}");
    assert!(
        ["compile phases: import", ", legalize ", ", optimize ", ", plan ", ", program "]
            .iter()
            .all(|p| text.contains(p)),
        "{text}"
    );
    assert!(text.contains("conv2d 3×3"), "{text}");
    let text = ok(&qnn(&["run", s(&model(n)), "-i", s(&model_input(n)), "-o", s(&out)]));
    assert!(
        text.contains("first run, cold")
            && text.contains("wrote output_0.npy  logits float32[1,100]"),
        "{text}"
    );
}

#[test]
fn inputs_by_name() {
    let n = "mobilenetv2_qdq_pt";
    let r = run_model(&model(n), &[], &["-i", &format!("input={}", s(&model_input(n)))]);
    assert_eq!(check(n, r, &[model_output(n)]), None);
}

#[test]
fn half_encoding_round_trips() {
    for bits in [0x3c00u16, 0xc000, 0x0001, 0x03ff, 0x7bff, 0x2e66, 0x8000, 0x7c00, 0xfc00] {
        // A FLOAT16 TensorProto: dims [1], data_type 10, raw_data.
        let mut b = vec![0x08, 0x01, 0x10, 0x0a, 0x4a, 0x02];
        b.extend_from_slice(&bits.to_le_bytes());
        let c = qnn_onnx::tensor_from_pb(&b).unwrap();
        assert_eq!(f32_to_f16(c.floats().unwrap()[0]), bits);
    }
}
