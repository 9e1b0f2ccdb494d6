//! The quantized peer models (MobileNetV2-style and ResNet-style, QOperator and QDQ,
//! per-tensor and per-channel; imported by qnn-onnx from its fixtures), compiled for every
//! usable backend.
//!
//! Under emulation (aarch64 under qemu, `QEMU_CPU` set: `cargo xtask test` runs this once
//! per Arm CPU model) only the smaller ResNet-style models run, in both import forms, on
//! every backend, and the reference interpretation of the lowered ResNet is skipped (about
//! two minutes there; the host run ties that interpretation to ONNX Runtime's output, which
//! the emulated runs are compared with): all of it takes about nine minutes per CPU model
//! under qemu. On real hardware everything runs.

mod common;

use std::path::PathBuf;

use qnn_ir::{Graph, Tensor};
use qnn_legalize::{CostModel, Target, legalize};
use qnn_onnx::{ImportOptions, Model};
use qnn_runtime::{CompileOptions, Compiler, Exec};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../qnn-onnx/tests/fixtures/models").join(name)
}

fn import(name: &str) -> Graph {
    let model = Model::from_path(fixture(&format!("{name}.onnx"))).unwrap();
    model.import(&ImportOptions::default()).unwrap().graph
}

fn bits(t: &Tensor) -> Vec<u64> {
    t.to_f64_vec().iter().map(|v| v.to_bits()).collect()
}

/// Compiles `g` for each usable backend (and once for the host) and returns the outputs.
fn outputs(name: &str, g: &Graph, x: &Tensor) -> Vec<(String, Tensor)> {
    let mut out = Vec::new();
    for backend in common::usable_backends().into_iter().map(Some).chain([None]) {
        let opts = CompileOptions::new().backend(backend).threads(2);
        let m = Compiler::new(opts).compile(g).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.report().count(Exec::Reference), 0, "{name}\n{}", m.report());
        let got = m.run(std::slice::from_ref(x)).unwrap();
        assert_eq!(got.len(), 1);
        out.push((backend.unwrap_or("host").to_string(), got.into_iter().next().unwrap()));
    }
    out
}

/// Every backend computes the legalized graph exactly: the reference interpretation of the
/// lowered ResNet (core ops) equals every compiled run.
#[test]
fn peer_resnet_equals_its_lowered_graph_on_every_backend() {
    if common::emulated() {
        eprintln!("emulated: the reference interpretation of the lowered ResNet is skipped here");
        return;
    }
    let x = qnn_npy::read(fixture("resnet_input.npy")).unwrap();
    let g = import("resnet_qop_pc");
    let l = legalize(&g, &Target::host(), &CostModel::new()).unwrap();
    let want = qnn_ir::reference::run(&l.graph, std::slice::from_ref(&x)).unwrap();
    // ONNX Runtime's output is this interpretation's (so the emulated runs, compared with
    // ORT's output, are compared with it too).
    let ort = qnn_npy::read(fixture("resnet_qop_pc_output.npy")).unwrap();
    assert!(bits(&ort) == bits(&want[0]), "ONNX Runtime vs the lowered graph");
    for (backend, got) in outputs("resnet_qop_pc", &g, &x) {
        assert!(bits(&got) == bits(&want[0]), "{backend}");
    }
}

fn equals_onnx_runtime(names: &[&str]) {
    for name in names {
        let net = name.split('_').next().unwrap();
        let x = qnn_npy::read(fixture(&format!("{net}_input.npy"))).unwrap();
        let want = qnn_npy::read(fixture(&format!("{name}_output.npy"))).unwrap();
        for (backend, got) in outputs(name, &import(name), &x) {
            assert_eq!(got.ty(), want.ty(), "{name} on {backend}");
            let (g, w) = (bits(&got), bits(&want));
            let differ = g.iter().zip(&w).filter(|(a, b)| a != b).count();
            assert_eq!(differ, 0, "{name} on {backend}: {differ} of {} outputs differ", w.len());
        }
    }
}

/// The eight peer models equal ONNX Runtime's outputs bit for bit, on every backend (under
/// emulation: the ResNet-style ones).
#[test]
fn peer_models_equal_onnx_runtime_on_every_backend() {
    if common::emulated() {
        eprintln!("emulated: the ResNet-style peer models only (see the file's header)");
        return equals_onnx_runtime(&["resnet_qop_pc", "resnet_qdq_pt"]);
    }
    equals_onnx_runtime(&[
        "mobilenetv2_qop_pt",
        "mobilenetv2_qop_pc",
        "mobilenetv2_qdq_pt",
        "mobilenetv2_qdq_pc",
        "resnet_qop_pt",
        "resnet_qop_pc",
        "resnet_qdq_pt",
        "resnet_qdq_pc",
    ]);
}
