//! The builder and the verifier.

use qnn_ir::*;

fn small_net() -> Graph {
    let mut b = GraphBuilder::new("net");
    let x = b.input("x", TensorType::new(DType::U8, [1, 3, 6, 6])).unwrap();
    let w = b.constant("w", Tensor::from_vec(&[4, 3, 3, 3], vec![1i8; 108]).unwrap()).unwrap();
    let conv = Conv2dAttrs { padding: [1, 1, 1, 1], ..Conv2dAttrs::default() };
    let y = b
        .node(
            "conv",
            Op::QnnConv2d {
                conv,
                input: QuantParams::per_tensor(0.5, 10),
                kernel: QuantParams::per_tensor(0.25, 0),
            },
            &[x, w],
        )
        .unwrap();
    let q = b
        .node(
            "requant",
            Op::QnnRequantize {
                input: QuantParams::per_tensor(0.125, 0),
                output: QuantParams::per_tensor(1.0, 128),
                rounding: Rounding::Upward,
                out_dtype: DType::U8,
            },
            &[y],
        )
        .unwrap();
    b.output(q);
    b.finish().unwrap()
}

#[test]
fn builder_infers_types() {
    let g = small_net();
    assert_eq!(g.ty(g.find("conv").unwrap()), &TensorType::new(DType::I32, [1, 4, 6, 6]));
    assert_eq!(g.ty(g.outputs[0]), &TensorType::new(DType::U8, [1, 4, 6, 6]));
    assert_eq!(g.producer(g.outputs[0]).unwrap().describe(), "qnn.requantize `requant`");
    assert!(g.constant(g.find("w").unwrap()).is_some());
    assert_eq!(g.users()[g.find("conv").unwrap().index()], vec![1]);
}

#[test]
fn builder_reports_errors_with_the_node_name() {
    let mut b = GraphBuilder::new("bad");
    let x = b.input("x", TensorType::new(DType::F32, [2])).unwrap();
    let e = b.node("r", Op::Cast { to: DType::I8 }, &[x]).map(|_| ());
    assert!(e.is_ok());
    let e = b.node("bad_sum", Op::Sum { axes: vec![3], keepdims: false }, &[x]).unwrap_err();
    assert!(e.to_string().starts_with("sum `bad_sum`"), "{e}");
    assert!(matches!(
        b.input("x", TensorType::new(DType::F32, [2])),
        Err(IrError::Redefined { .. })
    ));
    assert!(matches!(b.node("u", Op::Round, &[ValueId(99)]), Err(IrError::Undefined { .. })));
}

#[test]
fn verifier_catches_use_before_definition() {
    let mut g = small_net();
    g.nodes.swap(0, 1);
    // Keep the value → node links consistent so that only the order is wrong.
    for (i, n) in g.nodes.iter().enumerate() {
        g.values[n.output.index()].def = ValueDef::Node(i);
    }
    assert!(matches!(g.verify(), Err(IrError::Undefined { node, .. }) if node == "requant"));
}

#[test]
fn verifier_catches_type_mismatch() {
    let mut g = small_net();
    let conv = g.find("conv").unwrap();
    g.values[conv.index()].ty = TensorType::new(DType::I32, [1, 4, 5, 5]);
    assert!(matches!(g.verify(), Err(IrError::TypeMismatch { name, .. }) if name == "conv"));
}

#[test]
fn verifier_catches_duplicate_names_and_bad_links() {
    let mut g = small_net();
    g.values[1].name = "x".into();
    assert!(matches!(g.verify(), Err(IrError::Redefined { .. })));

    let mut g = small_net();
    let conv = g.find("conv").unwrap();
    g.values[conv.index()].def = ValueDef::Node(1);
    assert!(matches!(g.verify(), Err(IrError::Graph { .. })));

    let mut g = small_net();
    g.outputs.push(ValueId(42));
    assert!(matches!(g.verify(), Err(IrError::Undefined { .. })));

    let mut g = small_net();
    g.inputs.clear();
    assert!(matches!(g.verify(), Err(IrError::Graph { .. })));

    let mut g = small_net();
    let w = g.find("w").unwrap();
    g.values[w.index()].ty = TensorType::new(DType::I8, [4, 3, 3, 2]);
    assert!(matches!(g.verify(), Err(IrError::TypeMismatch { .. })));

    let mut g = small_net();
    g.nodes[1].inputs[0] = g.nodes[1].output;
    assert!(matches!(g.verify(), Err(IrError::Undefined { .. })));
}
