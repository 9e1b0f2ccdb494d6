//! Failures: exit status 1 and a message that says what is wrong and what to do — never a
//! panic, never an output file.

mod common;

use common::*;

fn run_args<'a>(model: &'a str, inputs: &[&'a str], out: &'a str) -> Vec<&'a str> {
    let mut a = vec!["run", model];
    for i in inputs {
        a.extend(["-i", *i]);
    }
    a.extend(["-o", out]);
    a
}

#[test]
fn missing_and_malformed_models() {
    let out = scratch("bad-model");
    let e = fails(&qnn(&["run", "/nonexistent/m.onnx", "-o", s(&out)]));
    assert!(e.contains("cannot load the model /nonexistent/m.onnx"), "{e}");
    // A .npy file is not a model.
    let npy = model_input("resnet");
    let e = fails(&qnn(&["inspect", s(&npy)]));
    assert!(e.contains("cannot load the model") && e.contains("ModelProto"), "{e}");
    assert!(!out.join("output_0.npy").exists());
}

#[test]
fn wrong_inputs_name_the_input_and_its_declaration() {
    let (m, x) = (model("mobilenetv2_qop_pt"), model_input("mobilenetv2_qop_pt"));
    let out = scratch("inputs");
    let o = out.to_str().unwrap();
    // None given.
    let e = fails(&qnn(&run_args(s(&m), &[], o)));
    assert!(
        e.contains("no file for 1 input(s): `input`") && e.contains("input: float32[1,3,224,224]"),
        "{e}"
    );
    assert!(e.contains("-i NAME=FILE.npy"), "{e}");
    // Too many.
    let e = fails(&qnn(&run_args(s(&m), &[s(&x), s(&x)], o)));
    assert!(e.contains("2 input file(s) given for 1 graph input(s)"), "{e}");
    // Twice by name, or an unknown name.
    let named = format!("input={}", s(&x));
    let e = fails(&qnn(&run_args(s(&m), &[&named, &named], o)));
    assert!(e.contains("input `input` is given twice"), "{e}");
    let e = fails(&qnn(&run_args(s(&m), &["images=x.npy"], o)));
    assert!(e.contains("the model has no input `images` (its inputs: input)"), "{e}");
    // Wrong element type: a uint8 array for the float32 input.
    let u8_file = fixtures().join("cases/convinteger_u8u8_3x3/input_0.npy");
    let e = fails(&qnn(&run_args(s(&m), &[s(&u8_file)], o)));
    assert!(
        e.contains("input `input` is float32 in the model") && e.contains("holds uint8"),
        "{e}"
    );
    // Wrong shape: ResNet's input for MobileNetV2.
    let r = model_input("resnet");
    let e = fails(&qnn(&run_args(s(&m), &[s(&r)], o)));
    assert!(
        e.contains("is declared as input: float32[1,3,224,224]") && e.contains("[1, 3, 112, 112]"),
        "{e}"
    );
    // A missing file.
    let e = fails(&qnn(&run_args(s(&m), &["/nonexistent/x.npy"], o)));
    assert!(e.contains("/nonexistent/x.npy"), "{e}");
    assert!(!out.join("output_0.npy").exists());
}

#[test]
fn constants_given_as_graph_inputs_must_be_bound() {
    let m = fixtures().join("node/onnx-1.16.2/test_qlinearconv/model.onnx");
    let e = fails(&qnn(&["inspect", s(&m)]));
    assert!(
        e.contains("`x_scale`") && e.contains("give their values with -i NAME=FILE.npy"),
        "{e}"
    );
}

#[test]
fn backends_and_targets_that_cannot_run_here() {
    let (m, x) = (model("resnet_qop_pt"), model_input("resnet_qop_pt"));
    let out = scratch("backend");
    let mut a = run_args(s(&m), &[s(&x)], s(&out));
    a.extend(["--backend", "nope"]);
    let e = fails(&qnn(&a));
    assert!(
        e.contains("unknown backend `nope`") && e.contains("x86-avx2") && e.contains("qnn targets"),
        "{e}"
    );
    let e = fails(&qnn_env(&run_args(s(&m), &[s(&x)], s(&out)), &[("QNN_BACKEND", "nope")]));
    assert!(e.contains("unknown backend `nope`"), "{e}");
    #[cfg(target_arch = "x86_64")]
    {
        let mut a = run_args(s(&m), &[s(&x)], s(&out));
        a.extend(["--backend", "arm-neon"]);
        let e = fails(&qnn(&a));
        assert!(e.contains("backend `arm-neon` cannot run on this machine"), "{e}");
        let mut a = run_args(s(&m), &[s(&x)], s(&out));
        a.extend(["--target", "aarch64-unknown-linux-gnu:cortex-a53"]);
        let e = fails(&qnn(&a));
        assert!(
            e.contains("`qnn run` runs on this machine") && e.contains("qnn legalize --target"),
            "{e}"
        );
    }
    // `--target cuda` runs convolutions on this machine's GPU; without one, the runtime says so.
    let targets: serde_json::Value =
        serde_json::from_str(&ok(&qnn(&["targets", "--json"]))).unwrap();
    let cuda = targets["backends"].as_array().unwrap().iter().find(|b| b["name"] == "cuda-dp4a");
    if cuda.is_some_and(|b| b["usable"] == false) {
        let mut a = run_args(s(&m), &[s(&x)], s(&out));
        a.extend(["--target", "cuda"]);
        let e = fails(&qnn(&a));
        assert!(e.contains("cuda-dp4a") && e.contains("cannot run on this machine"), "{e}");
    }
    let e = fails(&qnn(&["legalize", s(&m), "--target", "riscv64-unknown-linux-gnu"]));
    assert!(e.contains("--target riscv64-unknown-linux-gnu") && e.contains("known targets"), "{e}");
    let e = fails(&qnn(&["legalize", s(&m), "--target", "aarch64-unknown-linux-gnu:cortex-x99"]));
    assert!(e.contains("cortex-a53"), "{e}");
    let e = fails(&qnn(&["legalize", s(&m), "--target", "cuda", "--backend", "x86-vnni"]));
    assert!(e.contains("--backend x86-vnni") && e.contains("cuda-dp4a"), "{e}");
    assert!(!out.join("output_0.npy").exists());
}

/// An op the importer does not take is named with its node.
#[test]
fn unsupported_ops_name_the_node() {
    let m = fixtures().join("node/onnx-1.16.2/test_dynamicquantizelinear/model.onnx");
    let data = fixtures().join("node/onnx-1.16.2/test_dynamicquantizelinear/test_data_set_0");
    let tmp = scratch("unsupported");
    let x = pb_to_npy(&data, "input", &tmp);
    let e = fails(&qnn(&run_args(s(&m), &[s(&x[0])], s(&tmp))));
    assert!(e.contains("DynamicQuantizeLinear") && e.contains("not supported"), "{e}");
    assert!(!tmp.join("output_0.npy").exists());
}

#[test]
fn usage_errors() {
    // Missing -o, a zero repeat, an unknown policy: clap's usage errors (status 2).
    let m = model("resnet_qop_pt");
    for args in [
        vec!["run", s(&m)],
        vec!["run", s(&m), "-o", "x", "--repeat", "0"],
        vec!["legalize", s(&m), "--policy", "fastest"],
        vec!["frobnicate"],
    ] {
        let o = qnn(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.starts_with("error: ") && e.contains("--help"), "{e}");
    }
    let e = fails(&qnn(&["inspect", s(&m), "--shape", "input"]));
    assert!(e.contains("expected NAME=DIMS"), "{e}");
    let e = fails(&qnn(&["inspect", s(&m), "--shape", "input=1x3xbig"]));
    assert!(e.contains("dimensions must be numbers"), "{e}");
    let e = fails(&qnn(&["inspect", s(&m), "--shape", "other=1x3"]));
    assert!(e.contains("no input `other`"), "{e}");
}

/// An output folder that cannot be created.
#[test]
fn unwritable_output_folder() {
    let (m, x) = (model("resnet_qop_pt"), model_input("resnet_qop_pt"));
    let file = scratch("file").join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let e = fails(&qnn(&run_args(s(&m), &[s(&x)], s(&file.join("out")))));
    assert!(e.contains("cannot create the output folder"), "{e}");
}
