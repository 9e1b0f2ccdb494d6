//! Whole-graph runs on aarch64 equal the x86 host's outputs bit for bit, for the same model
//! and inputs (issue 5). `tests/fixtures/cross_arch/` holds, per case, the QNN graph in
//! text form (`NAME.qnn`), an input and the output the x86-64 host computed (`.npy`): a few
//! small random quantized graphs (convs grouped, depthwise, strided, dilated, padded; dense;
//! qnn.add; pools; edge zero points; every rounding), the small conv net (f32 in and out) and
//! the Arm dispatch net. Each is compiled here on every usable backend forced in turn and on
//! the host target, and must give those bits; under qemu that is every Arm tier. The peer
//! models' outputs come from ONNX Runtime itself (`peer_models.rs`; one runs here too).
//!
//! Regenerate on an x86-64 host (checks each output against the reference first):
//!
//! ```text
//! QNN_BLESS=1 cargo test -p qnn-runtime --test cross_arch
//! ```

mod common;

use std::path::{Path, PathBuf};

use common::random_graph::{build, net};
use common::{tensor, usable_backends, values};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use qnn_ir::{Graph, Op, Tensor, reference, text};
use qnn_legalize::{CostModel, Target, legalize};
use qnn_runtime::{CompileOptions, Compiler};

const BLESS_ENV: &str = "QNN_BLESS";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cross_arch")
}

/// The cases: name, graph, input. Random graphs come from a fixed proptest seed; only
/// their committed text matters once blessed.
fn generate() -> Vec<(String, Graph, Tensor)> {
    let mut cases = vec![
        (
            "small_convnet".to_string(),
            common::nets::small_convnet(),
            common::nets::small_convnet_input(11),
        ),
        arm_dispatch_case(),
    ];
    let mut runner = TestRunner::deterministic();
    let strategy = net();
    let arm: Target = "aarch64-unknown-linux-gnu:cortex-a53".parse().unwrap();
    while cases.len() < 8 {
        let n = strategy.new_tree(&mut runner).unwrap().current();
        let (g, x) = build(&n);
        let convs =
            g.nodes.iter().filter(|n| matches!(n.op, Op::QnnConv2d { .. } | Op::QnnDense { .. }));
        // Graphs with a conv/dense that every target legalizes and the reference runs.
        let runs = reference::run(&g, std::slice::from_ref(&x)).is_ok();
        if convs.count() >= 1 && runs && legalize(&g, &arm, &CostModel::new()).is_ok() {
            cases.push((format!("random_{}", cases.len() - 2), g, x));
        }
    }
    cases
}

fn arm_dispatch_case() -> (String, Graph, Tensor) {
    use qnn_ir::*;
    let mut b = GraphBuilder::new("cross_arch_dw_dense");
    let x = b.input("x", TensorType::new(DType::U8, [1, 16, 5, 6])).unwrap();
    let act = QuantParams::per_tensor(0.05, 7);
    let w = tensor(DType::I8, &[16, 1, 3, 3], values(144, 21, -128, 127));
    let w = b.constant("dw.w", w).unwrap();
    let conv = Conv2dAttrs { padding: [1; 4], groups: 16, ..Conv2dAttrs::default() };
    let k = QuantParams::per_axis((0..16).map(|i| 0.01 + 0.001 * i as f32).collect(), vec![0], 0);
    let op = Op::QnnConv2d { conv, input: QuantParams::per_tensor(0.02, 3), kernel: k };
    let y = b.node("dw", op, &[x, w]).unwrap();
    let rq = Op::QnnRequantize {
        input: QuantParams::per_tensor(2e-4, 0),
        output: act.clone(),
        rounding: Rounding::ToNearest,
        out_dtype: DType::U8,
    };
    let y = b.node("dw.rq", rq, &[y]).unwrap();
    let y = b.node("flatten", Op::Reshape { shape: vec![1, 480] }, &[y]).unwrap();
    let w = b.constant("fc.w", tensor(DType::I8, &[24, 480], values(24 * 480, 22, -127, 127)));
    let zps: Vec<i32> = (0..24).map(|k| k % 5 - 2).collect();
    let op = Op::QnnDense { input: act, kernel: QuantParams::per_axis(vec![0.01; 24], zps, 0) };
    let y = b.node("fc", op, &[y, w.unwrap()]).unwrap();
    let rq = Op::QnnRequantize {
        input: QuantParams::per_tensor(5e-4, 0),
        output: QuantParams::per_tensor(0.1, -3),
        rounding: Rounding::Float,
        out_dtype: DType::I8,
    };
    let y = b.node("fc.rq", rq, &[y]).unwrap();
    b.output(y);
    let input = tensor(DType::U8, &[1, 16, 5, 6], values(480, 23, 0, 255));
    ("dw_dense".into(), b.finish().unwrap(), input)
}

fn paths(name: &str) -> [PathBuf; 3] {
    let d = dir();
    [
        d.join(format!("{name}.qnn")),
        d.join(format!("{name}.input.npy")),
        d.join(format!("{name}.output.npy")),
    ]
}

/// Writes the cases with the x86-64 host's outputs.
fn bless() {
    if !cfg!(target_arch = "x86_64") {
        panic!("{BLESS_ENV}=1: the expected outputs come from the x86-64 host");
    }
    std::fs::create_dir_all(dir()).unwrap();
    for (name, g, x) in generate() {
        let printed = text::print(&g);
        assert_eq!(text::parse(&printed).unwrap(), g, "{name}: the text form reads back");
        let m = Compiler::new(CompileOptions::new()).compile(&g).unwrap();
        let out = m.run(std::slice::from_ref(&x)).unwrap();
        assert_eq!(out, reference::run(&g, std::slice::from_ref(&x)).unwrap(), "{name}");
        assert_eq!(out.len(), 1, "{name}");
        let [graph, input, output] = paths(&name);
        std::fs::write(graph, printed).unwrap();
        qnn_npy::write(input, &x).unwrap();
        qnn_npy::write(output, &out[0]).unwrap();
        eprintln!("blessed {name}");
    }
}

/// The blessed case names, sorted.
fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap_or_else(|e| panic!("{}: {e} (bless with {BLESS_ENV}=1)", dir().display()))
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".qnn").map(String::from))
        .collect();
    names.sort();
    names
}

fn bits(t: &Tensor) -> Vec<u64> {
    t.to_f64_vec().iter().map(|v| v.to_bits()).collect()
}

fn read(path: &Path) -> Tensor {
    qnn_npy::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_backend_here_gives_the_x86_hosts_bits() {
    if std::env::var(BLESS_ENV).is_ok_and(|v| v.trim() == "1") {
        bless();
    }
    let names = case_names();
    assert!(names.len() >= 8, "{names:?}");
    let backends: Vec<Option<&str>> = usable_backends()
        .into_iter()
        .filter(|b| *b != "cuda-dp4a")
        .map(Some)
        .chain([None])
        .collect();
    for name in &names {
        let [graph, input, output] = paths(name);
        let g = text::parse(&std::fs::read_to_string(&graph).unwrap()).unwrap();
        let (x, want) = (read(&input), read(&output));
        let reference = reference::run(&g, std::slice::from_ref(&x)).unwrap();
        assert!(bits(&reference[0]) == bits(&want), "{name}: the reference here");
        for &backend in &backends {
            let m = Compiler::new(CompileOptions::new().backend(backend).threads(2))
                .compile(&g)
                .unwrap_or_else(|e| panic!("{name} on {backend:?}: {e}"));
            let got = m.run(std::slice::from_ref(&x)).unwrap();
            assert_eq!(got[0].ty(), want.ty(), "{name}");
            assert!(
                bits(&got[0]) == bits(&want),
                "{name} on {}\n{}",
                backend.unwrap_or("host"),
                m.report()
            );
        }
        eprintln!("{name}: {} backends equal the x86 host", backends.len());
    }
}

/// One peer model on this machine's host plan equals ONNX Runtime's output (computed on
/// x86-64) bit for bit: the ResNet-style QOperator model, the smaller of the two networks,
/// so that it also runs under emulation (`peer_models.rs` runs all eight on every backend).
#[test]
fn a_peer_model_here_equals_onnx_runtime() {
    let models =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../qnn-onnx/tests/fixtures/models");
    let onnx = qnn_onnx::Model::from_path(models.join("resnet_qop_pc.onnx")).unwrap();
    let g = onnx.import(&qnn_onnx::ImportOptions::default()).unwrap().graph;
    let x = read(&models.join("resnet_input.npy"));
    let want = read(&models.join("resnet_qop_pc_output.npy"));
    let m = Compiler::new(CompileOptions::new().threads(2)).compile(&g).unwrap();
    let got = m.run(std::slice::from_ref(&x)).unwrap();
    assert!(bits(&got[0]) == bits(&want), "{}", m.report());
}
