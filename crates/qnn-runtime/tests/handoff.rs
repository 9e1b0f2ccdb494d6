//! The legalizer's decisions reach the kernels as typed records, not through names: every
//! conv/dense of the peer models runs fused, with the lowering and on the backend the
//! legalizer chose for it; renaming every node and value changes nothing the plan decides;
//! a fused op no kernel takes runs unfused on the reference, exactly.

mod common;

use std::path::PathBuf;

use qnn_ir::{Conv2dAttrs, DType, GraphBuilder, Op, TensorType, reference};
use qnn_legalize::{Capability, Lowering};
use qnn_onnx::{ImportOptions, Model};
use qnn_runtime::{CompileOptions, Compiler, Exec, PlanReport};

fn import(name: &str) -> qnn_ir::Graph {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../qnn-onnx/tests/fixtures/models")
        .join(format!("{name}.onnx"));
    Model::from_path(path).unwrap().import(&ImportOptions::default()).unwrap().graph
}

/// The peer models this run checks (under emulation, the smaller ResNet-style ones).
fn models() -> Vec<&'static str> {
    let resnets = ["resnet_qop_pt", "resnet_qop_pc", "resnet_qdq_pt", "resnet_qdq_pc"];
    let mobilenets =
        ["mobilenetv2_qop_pt", "mobilenetv2_qop_pc", "mobilenetv2_qdq_pt", "mobilenetv2_qdq_pc"];
    if common::emulated() {
        resnets.to_vec()
    } else {
        resnets.into_iter().chain(mobilenets).collect()
    }
}

/// Every fused conv/dense step has the lowering of the legalizer's decision for it (the
/// explanation's ops, in graph order), and runs on its backend unless that backend has no
/// kernel for it, which the step's note then says.
fn check_decisions(name: &str, r: &PlanReport) {
    let ex = r.legalization.as_ref().expect("compiled from a QNN graph");
    let convs: Vec<_> = r.steps.iter().filter(|s| s.lowering.is_some()).collect();
    assert_eq!(convs.len(), ex.ops.len(), "{name}: one fused step per conv/dense\n{r}");
    for (s, op) in convs.iter().zip(&ex.ops) {
        assert!(matches!(s.exec, Exec::Kernel | Exec::Device), "{name}: {s:?}");
        assert_eq!(s.lowering.as_deref(), Some(op.lowering.as_str()), "{name}: {s:?}");
        let on_choice = s.backend.as_deref() == Some(op.backend.as_str());
        let without_kernel = [" has no kernel", " registers no kernel", " cannot run"]
            .iter()
            .any(|why| s.note.contains(&format!("{}{why}", op.backend)));
        assert!(on_choice || without_kernel, "{name}: legalized for {}, ran {s:?}", op.backend);
    }
}

#[test]
fn every_conv_of_the_peer_models_runs_as_the_legalizer_decided() {
    for name in models() {
        let g = import(name);
        let options = [
            CompileOptions::new().policy(Capability),
            CompileOptions::new().lowering(Some(Lowering::Int8ZeroPointTerms)),
            CompileOptions::new().lowering(Some(Lowering::Int16Upcast)),
        ];
        for opts in options {
            let m = Compiler::new(opts.threads(1)).compile(&g).unwrap_or_else(|e| panic!("{e}"));
            check_decisions(name, m.report());
        }
        // Named targets (one with several backends), planned without running.
        for target in ["aarch64-unknown-linux-gnu:neoverse-n1", "cuda"] {
            let opts = CompileOptions::new().target(target.parse().unwrap()).threads(1);
            check_decisions(name, &Compiler::new(opts).plan(&g).unwrap());
        }
    }
}

/// What the plan decides for each step, without the names it shows.
fn decisions(r: &PlanReport) -> Vec<String> {
    r.steps
        .iter()
        .map(|s| {
            format!(
                "{:?} {} {:?} {:?} {:?} {:?} {}",
                s.exec, s.op, s.backend, s.kernel, s.lowering, s.fused, s.output
            )
        })
        .chain([format!("arena {} constants {}", r.arena_bytes, r.constant_bytes)])
        .collect()
}

#[test]
fn renaming_every_node_and_value_changes_no_decision() {
    let name = if common::emulated() { "resnet_qdq_pc" } else { "mobilenetv2_qdq_pc" };
    let g = import(name);
    let mut renamed = g.clone();
    for (i, v) in renamed.values.iter_mut().enumerate() {
        v.name = format!("{i}.t1");
    }
    let count = renamed.nodes.len();
    for (i, n) in renamed.nodes.iter_mut().enumerate() {
        n.name = format!("{}.acc", count - i);
    }
    renamed.verify().unwrap();
    for target in [None, Some("aarch64-unknown-linux-gnu:neoverse-n1")] {
        let opts = match target {
            Some(t) => CompileOptions::new().target(t.parse().unwrap()),
            None => CompileOptions::new(),
        };
        let c = Compiler::new(opts.threads(1));
        assert_eq!(decisions(&c.plan(&g).unwrap()), decisions(&c.plan(&renamed).unwrap()));
    }
}

/// A core conv on i16 data and i8 weights (a graph that arrives lowered): fused, but no
/// kernel takes that operand pair, so the step runs its nodes on the reference interpreter.
#[test]
fn a_fused_op_without_a_kernel_runs_unfused_on_the_reference() {
    let mut b = GraphBuilder::new("g");
    let x = b.input("x", TensorType::new(DType::I16, [1, 3, 5, 5])).unwrap();
    let w = common::tensor(DType::I8, &[4, 3, 3, 3], common::values(108, 7, -128, 127));
    let w = b.constant("w", w).unwrap();
    let conv = Conv2dAttrs { padding: [1; 4], ..Conv2dAttrs::default() };
    let y = b.node("conv", Op::Conv2d { conv, pad_value: 0 }, &[x, w]).unwrap();
    let bias =
        b.constant("bias", common::tensor(DType::I32, &[4, 1, 1], vec![5, -7, 0, 9])).unwrap();
    let y = b.node("biased", Op::Add, &[y, bias]).unwrap();
    b.output(y);
    let g = b.finish().unwrap();
    let m = Compiler::new(CompileOptions::new()).compile_lowered(&g).unwrap();
    let step = m.report().steps.iter().find(|s| s.lowering.is_some()).expect("a fused step");
    assert_eq!(step.exec, Exec::Reference, "{}", m.report());
    assert!(step.note.starts_with("no kernel, runs unfused"), "{step:?}");
    assert_eq!(step.fused, ["channel constant"]);
    for seed in 0..3 {
        let x = [common::tensor(DType::I16, &[1, 3, 5, 5], common::values(75, seed, -3000, 3000))];
        assert_eq!(m.run(&x).unwrap(), reference::run(&g, &x).unwrap());
    }
}

/// Core `requantize` and `clip` ops after a `qnn.conv2d` (a mixed graph) are passed through
/// legalization as they are, and join the fused op like the records of their QNN forms.
#[test]
fn core_requantize_and_clip_after_a_qnn_conv_are_fused() {
    use qnn_ir::{QuantParams, RequantScale};
    let mut b = GraphBuilder::new("mixed");
    let x = b.input("x", TensorType::new(DType::U8, [1, 3, 6, 6])).unwrap();
    let w = common::tensor(DType::I8, &[4, 3, 3, 3], common::values(108, 3, -127, 127));
    let w = b.constant("w", w).unwrap();
    let op = Op::QnnConv2d {
        conv: Conv2dAttrs { padding: [1; 4], ..Conv2dAttrs::default() },
        input: QuantParams::per_tensor(0.02, 7),
        kernel: QuantParams::per_tensor(0.01, 0),
    };
    let y = b.node("conv", op, &[x, w]).unwrap();
    let rq = Op::Requantize {
        scale: RequantScale::Float { mults: vec![0.004] },
        axes: vec![],
        input_zero_point: 0,
        output_zero_point: 5,
        out_dtype: DType::U8,
    };
    let y = b.node("rq", rq, &[y]).unwrap();
    let y = b.node("clip", Op::Clip { min: 5.0, max: 200.0 }, &[y]).unwrap();
    b.output(y);
    let g = b.finish().unwrap();
    let m = Compiler::new(CompileOptions::new()).compile(&g).unwrap();
    let r = m.report();
    let step = r.steps.iter().find(|s| s.lowering.is_some()).expect("a fused step");
    // A kernel that reads s8 data (Arm's s8 × s8 `sdot`) has the input's u8 → s8 shift run
    // as a lookup step of its own, after the layout change.
    let shifts =
        r.steps.iter().filter(|s| s.op.starts_with("lookup") && s.output.starts_with("i8"));
    let s8_data = step.kernel.as_deref().is_some_and(|k| k.contains("_s8s8_"));
    assert_eq!(shifts.count(), usize::from(s8_data), "{r}");
    assert_eq!(
        r.steps.len(),
        3 + usize::from(s8_data),
        "quantized input's layout, [its shift,] the fused conv, back\n{r}"
    );
    assert!(step.fused.iter().any(|f| f.starts_with("requantize(float)")), "{step:?}");
    assert!(step.fused.contains(&"clip [5, 200]".to_string()), "{step:?}");
    let x = [common::tensor(DType::U8, &[1, 3, 6, 6], common::values(108, 9, 0, 255))];
    assert_eq!(m.run(&x).unwrap(), reference::run(&g, &x).unwrap());
}
