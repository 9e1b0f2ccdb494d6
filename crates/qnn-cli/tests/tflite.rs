//! `qnn` on `.tflite` models (qnn-tflite's fixtures): told from ONNX by content, inspected,
//! legalized with explanations, and run to LiteRT's outputs bit for bit.

mod common;

use std::path::{Path, PathBuf};

use common::{qnn, scratch, stderr, stdout};

fn ops(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../qnn-tflite/tests/fixtures/ops").join(file)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(o: &std::process::Output) -> String {
    assert!(o.status.success(), "qnn failed:\n{}\n{}", stdout(o), stderr(o));
    stdout(o)
}

#[test]
fn run_two_inputs_equals_litert() {
    let out = scratch("tflite-add");
    let model = ops("add_relu.tflite");
    let (a, b) = (ops("add_relu.in_0.npy"), ops("add_relu.in_1.npy"));
    ok(&qnn(&["run", s(&model), "-i", s(&a), "-i", s(&b), "-o", s(&out)]));
    let got = qnn_npy::read(out.join("output_0.npy")).unwrap();
    assert_eq!(got, qnn_npy::read(ops("add_relu.out_0.npy")).unwrap());
}

#[test]
fn run_conv_on_each_backend_equals_litert() {
    let model = ops("conv_3x3_s2_valid.tflite");
    let want = qnn_npy::read(ops("conv_3x3_s2_valid.out_0.npy")).unwrap();
    for backend in ["portable", "host"] {
        let out = scratch("tflite-conv");
        let mut args = vec!["run", s(&model), "-i"];
        let input = ops("conv_3x3_s2_valid.in_0.npy");
        args.push(s(&input));
        args.extend(["-o", s(&out)]);
        if backend != "host" {
            args.extend(["--backend", backend]);
        }
        ok(&qnn(&args));
        assert_eq!(qnn_npy::read(out.join("output_0.npy")).unwrap(), want, "{backend}");
    }
}

#[test]
fn inspect_and_legalize_explain_a_tflite_model() {
    let model = ops("dw_3x3_s2_valid_m2_relu.tflite");
    let text = ok(&qnn(&["inspect", s(&model)]));
    assert!(text.contains("TensorFlow Lite") && text.contains("DEPTHWISE_CONV_2D"), "{text}");
    assert!(text.contains("qnn.conv2d") && text.contains("MACs"), "{text}");
    let json = ok(&qnn(&["inspect", s(&model), "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["format"], "tflite");
    let text = ok(&qnn(&["legalize", s(&model), "--explain"]));
    assert!(!text.is_empty());
}

#[test]
fn a_missing_input_is_named() {
    let out = scratch("tflite-missing");
    let model = ops("add_relu.tflite");
    let a = ops("add_relu.in_0.npy");
    let o = qnn(&["run", s(&model), "-i", s(&a), "-o", s(&out)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no file for 1 input"), "{}", stderr(&o));
}
