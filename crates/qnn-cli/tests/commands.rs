//! `qnn --help`, `qnn inspect`, `qnn legalize` and `qnn targets` on the repository's fixtures.

mod common;

use common::*;

#[test]
fn help_says_what_each_command_does_with_an_example() {
    let top = ok(&qnn(&["--help"]));
    for c in ["inspect", "legalize", "run", "targets", "Examples:", "QNN_BACKEND"] {
        assert!(top.contains(c), "{c}:\n{top}");
    }
    for c in ["inspect", "legalize", "run", "targets"] {
        let h = ok(&qnn(&[c, "--help"]));
        assert!(h.contains("Example"), "{c}:\n{h}");
        assert!(h.contains(&format!("qnn {c}")), "{c}:\n{h}");
    }
    let run = ok(&qnn(&["run", "--help"]));
    for opt in ["--backend", "--threads", "--target", "--repeat", "-i, --input", "-o, --output-dir"]
    {
        assert!(run.contains(opt), "{opt}:\n{run}");
    }
    // No command: the help, and a usage error status.
    let o = qnn(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Usage: qnn <COMMAND>"), "{}", stderr(&o));
    assert!(ok(&qnn(&["--version"])).starts_with("qnn "));
}

/// MACs per model equal the figures the fixtures' generator recorded.
#[test]
fn inspect_lists_ops_shapes_parameters_and_macs() {
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("models/models.json")).unwrap(),
    )
    .unwrap();
    for name in ["mobilenetv2_qop_pc", "resnet_qdq_pt"] {
        let text = ok(&qnn(&["inspect", s(&model(name))]));
        let macs = meta["models"][name]["macs"].as_u64().unwrap();
        assert!(text.contains(&format!("total    {macs} MACs")), "{name}: {macs}\n{text}");
        assert!(text.contains("input: float32[1,3,"), "{text}");
        assert!(text.contains("qnn.conv2d") && text.contains("u8[1,32,"), "{text}");
        assert!(text.contains("weights: "), "{text}");
        let j: serde_json::Value =
            serde_json::from_str(&ok(&qnn(&["inspect", s(&model(name)), "--json"]))).unwrap();
        assert_eq!(j["macs"].as_u64(), Some(macs));
        let per_node: u64 =
            j["nodes"].as_array().unwrap().iter().map(|n| n["macs"].as_u64().unwrap()).sum();
        assert_eq!(per_node, macs);
    }
    // Per-channel weights: a scale range (or every value with --all-params).
    let text = ok(&qnn(&["inspect", s(&model("mobilenetv2_qop_pc"))]));
    assert!(text.contains("weights: per-axis axis 0 (32): s∈["), "{text}");
    assert!(text.contains("QLinearConv `stem_1_quant` (qoperator)  10.84M MACs"), "{text}");
    assert!(text.contains("depthwise"), "{text}");
    let all = ok(&qnn(&["inspect", s(&model("mobilenetv2_qop_pc")), "--all-params"]));
    assert!(all.contains("per-axis axis 0: s=["), "{all}");
    // QDQ form: the folded DequantizeLinear/QuantizeLinear are named with the op.
    let qdq = ok(&qnn(&["inspect", s(&model("resnet_qdq_pt"))]));
    assert!(qdq.contains("(qdq)") && qdq.contains(" + "), "{qdq}");
}

/// `-i NAME=FILE` binds graph inputs the importer needs as constants (node tests).
#[test]
fn inspect_binds_constant_inputs() {
    let dir = fixtures().join("node/onnx-1.16.2/test_qlinearconv");
    let tmp = scratch("bind");
    let files = pb_to_npy(&dir.join("test_data_set_0"), "input", &tmp);
    let names =
        ["x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point"];
    let mut args = vec!["inspect".to_string(), s(&dir.join("model.onnx")).to_string()];
    for (n, f) in names.iter().zip(&files).skip(1) {
        args.extend(["-i".into(), format!("{n}={}", s(f))]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = ok(&qnn(&args));
    assert!(text.contains("QLinearConv") && text.contains("x: uint8[1,1,7,7]"), "{text}");
}

/// (lowering, backend) of every convolution.
fn decisions(target: &str) -> Vec<(String, String)> {
    let o = qnn(&["legalize", s(&model("resnet_qop_pc")), "--target", target, "--emit", "json"]);
    let j: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    let ops = j["ops"].as_array().unwrap();
    assert_eq!(ops.len(), 19, "18 convolutions and the classifier");
    ops.iter()
        .filter(|o| o["op"].as_str().unwrap().contains("conv"))
        .map(|o| {
            (
                o["lowering"].as_str().unwrap().to_string(),
                o["backend"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Named targets work on any host: the Raspberry Pi 3 class core gets int16 on NEON,
/// dotprod cores and CUDA get int8 with zero-point terms.
#[test]
fn legalize_decides_per_target() {
    let a53 = decisions("aarch64-unknown-linux-gnu:cortex-a53");
    assert!(
        !a53.is_empty() && a53.iter().all(|(l, b)| l == "Int16Upcast" && b == "arm-neon"),
        "{a53:?}"
    );
    let n1 = decisions("aarch64-unknown-linux-gnu:neoverse-n1");
    assert!(n1.iter().all(|(l, b)| l == "Int8ZeroPointTerms" && b == "arm-dotprod"), "{n1:?}");
    let cuda = decisions("cuda");
    assert!(cuda.iter().all(|(l, b)| l == "Int8ZeroPointTerms" && b == "cuda-dp4a"), "{cuda:?}");
    let table = ok(&qnn(&[
        "legalize",
        s(&model("resnet_qop_pc")),
        "--explain",
        "--target",
        "aarch64-unknown-linux-gnu:cortex-a53",
    ]));
    assert!(
        table.contains("lowering") && table.contains("int16-upcast") && table.contains("arm-neon"),
        "{table}"
    );
    assert!(!table.contains("graph \""), "--explain alone prints no IR:\n{table}");
    let forced = ok(&qnn(&[
        "legalize",
        s(&model("resnet_qop_pc")),
        "--explain",
        "--lowering",
        "int16-upcast",
        "--policy",
        "capability",
    ]));
    assert!(forced.contains("int16-upcast") && !forced.contains("int8-terms  "), "{forced}");
}

/// The lowered graph in text form parses back, with core ops only.
#[test]
fn legalize_emits_the_lowered_graph() {
    let text = ok(&qnn(&[
        "legalize",
        s(&model("resnet_qdq_pc")),
        "--target",
        "x86_64-unknown-linux-gnu:haswell",
    ]));
    let g = qnn_ir::text::parse(&text).unwrap();
    assert!(g.nodes.iter().any(|n| n.op.name() == "conv2d"), "no conv2d");
    assert!(g.nodes.iter().all(|n| !n.op.is_qnn()), "a QNN op is left");
    let both = ok(&qnn(&[
        "legalize",
        s(&model("resnet_qdq_pc")),
        "--explain",
        "--emit",
        "ir",
        "--backend",
        "portable",
    ]));
    assert!(
        both.contains("portable") && both.contains("conv2d("),
        "{}",
        &both[..both.len().min(2000)]
    );
}

#[test]
fn targets_lists_every_backend_and_why_it_is_unusable() {
    let text = ok(&qnn(&["targets"]));
    for b in ["x86-vnni", "x86-avx2", "arm-neon", "arm-dotprod", "cuda-dp4a", "portable"] {
        assert!(text.contains(b), "{b}:\n{text}");
    }
    assert!(text.contains("cortex-a53") && text.contains("neoverse-n1"), "{text}");
    let j: serde_json::Value = serde_json::from_str(&ok(&qnn(&["targets", "--json"]))).unwrap();
    let backends = j["backends"].as_array().unwrap();
    assert!(backends.len() >= 6);
    for b in backends {
        let usable = b["usable"].as_bool().unwrap();
        assert_eq!(usable, b["why_not"].is_null(), "{b}");
        if !usable {
            assert!(!b["why_not"].as_str().unwrap().is_empty());
        }
        // Every backend this binary can use is what the host target uses.
        let host: Vec<&str> =
            j["host"]["backends"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(usable, host.contains(&b["name"].as_str().unwrap()), "{b}");
    }
    let portable = backends.iter().find(|b| b["name"] == "portable").unwrap();
    assert_eq!(portable["usable"], true);
    #[cfg(target_arch = "x86_64")]
    {
        let neon = backends.iter().find(|b| b["name"] == "arm-neon").unwrap();
        assert_eq!(neon["usable"], false);
    }
    assert!(j["problems"].as_array().unwrap().is_empty());
}
