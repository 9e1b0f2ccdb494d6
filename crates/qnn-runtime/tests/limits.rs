//! Memory limits of a compilation (`CompileOptions::limits`): a graph whose values exceed
//! them is refused before legalization, and a plan whose buffers or activation arena would
//! exceed them is refused at compile time — before any run allocates the arena.

use qnn_ir::limits::Limits;
use qnn_ir::*;
use qnn_runtime::{CompileOptions, Compiler, RuntimeError};

/// `x: u8[1,8,16,16]` (2048 bytes) → 1×1 conv to one channel → `i32[1,1,16,16]` (1024
/// bytes): 3080 bytes of graph values; the plan converts `x` to NHWC at the edge, so a run's
/// arena holds 4096.
fn conv_graph() -> Graph {
    let mut b = GraphBuilder::new("g");
    let x = b.input("x", TensorType::new(DType::U8, [1, 8, 16, 16])).unwrap();
    let w = b.constant("w", Tensor::from_vec(&[1, 8, 1, 1], vec![1i8; 8]).unwrap()).unwrap();
    let op = Op::QnnConv2d {
        conv: Conv2dAttrs::default(),
        input: QuantParams::per_tensor(0.5, 3),
        kernel: QuantParams::per_tensor(0.5, 0),
    };
    let y = b.node("c", op, &[x, w]).unwrap();
    b.output(y);
    b.finish().unwrap()
}

fn compile(limits: Limits) -> Result<qnn_runtime::CompiledModel, RuntimeError> {
    Compiler::new(CompileOptions::new().threads(1).backend(Some("portable")).limits(limits))
        .compile(&conv_graph())
}

fn exceeded(e: RuntimeError) -> (String, Option<u64>, u64) {
    match e {
        RuntimeError::Ir(IrError::LimitExceeded { what, bytes, limit }) => (what, bytes, limit),
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn graph_values_beyond_the_limit_are_refused_before_legalizing() {
    let small = Limits { max_tensor_bytes: 2047, max_graph_bytes: 1 << 20 };
    let e = compile(small).unwrap_err();
    assert_eq!(exceeded(e), ("value `x` (u8[1,8,16,16])".into(), Some(2048), 2047));
    let target = qnn_legalize::Target::host();
    let lowered = qnn_legalize::legalize(&conv_graph(), &target, &qnn_legalize::CostModel::new());
    let e =
        Compiler::new(CompileOptions::new().limits(small)).compile_lowered(&lowered.unwrap().graph);
    assert_eq!(exceeded(e.unwrap_err()).0, "value `x` (u8[1,8,16,16])");
}

#[test]
fn an_arena_beyond_the_limit_is_refused_at_compile_time() {
    // The graph's values fit 3500 bytes together; the arena of a run does not.
    let limits = Limits { max_tensor_bytes: 1 << 20, max_graph_bytes: 3500 };
    assert!(conv_graph().verify_with(&limits).is_ok());
    let e = compile(limits).unwrap_err();
    assert_eq!(exceeded(e), ("the activation arena of a run".into(), Some(4096), 3500));
    let m = compile(limits.with_graph_bytes(4096)).unwrap();
    assert_eq!(m.report().arena_bytes, 4096);
    let x = Tensor::zeros(&TensorType::new(DType::U8, [1, 8, 16, 16]));
    assert_eq!(
        m.run(std::slice::from_ref(&x)).unwrap(),
        reference::run(&conv_graph(), &[x]).unwrap()
    );
}
