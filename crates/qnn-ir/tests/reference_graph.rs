//! Running whole graphs on the reference interpreter.

use qnn_ir::reference::{run, run_all, run_named};
use qnn_ir::{
    Conv2dAttrs, DType, Graph, GraphBuilder, IrError, Op, QuantParams, Rounding, Tensor, TensorType,
};

/// x (u8 1×1×2×2, zp 2) → qnn.conv2d with a 1×1 kernel of 3 (zp 0) → qnn.requantize (float)
/// to u8 with scale 1, zp 10.
fn conv_requantize() -> Graph {
    let mut b = GraphBuilder::new("conv_requantize");
    let x = b.input("x", TensorType::new(DType::U8, [1, 1, 2, 2])).unwrap();
    let w = b.constant("w", Tensor::from_vec(&[1, 1, 1, 1], vec![3i8]).unwrap()).unwrap();
    let conv = Op::QnnConv2d {
        conv: Conv2dAttrs::default(),
        input: QuantParams::per_tensor(0.5, 2),
        kernel: QuantParams::per_tensor(0.25, 0),
    };
    let acc = b.node("acc", conv, &[x, w]).unwrap();
    let requantize = Op::QnnRequantize {
        input: QuantParams::per_tensor(0.125, 0),
        output: QuantParams::per_tensor(1.0, 10),
        rounding: Rounding::Float,
        out_dtype: DType::U8,
    };
    let y = b.node("y", requantize, &[acc]).unwrap();
    b.output(y);
    b.finish().unwrap()
}

#[test]
fn runs_a_graph() {
    let g = conv_requantize();
    let x = Tensor::from_vec(&[1, 1, 2, 2], vec![2u8, 3, 6, 255]).unwrap();
    // acc = 3·(x − 2) = [0, 3, 12, 759]; ·0.125 = [0, 0.375, 1.5, 94.875] → [0, 0, 2, 95] + 10.
    let out = run(&g, std::slice::from_ref(&x)).unwrap();
    assert_eq!(out, vec![Tensor::from_vec(&[1, 1, 2, 2], vec![10u8, 10, 12, 105]).unwrap()]);

    let all = run_all(&g, std::slice::from_ref(&x)).unwrap();
    assert_eq!(all.len(), g.values.len());
    assert_eq!(
        all[g.find("acc").unwrap().index()],
        Tensor::from_vec(&[1, 1, 2, 2], vec![0i32, 3, 12, 759]).unwrap()
    );
    let named = run_named(&g, &[x]).unwrap();
    assert_eq!(named["w"], Tensor::from_vec(&[1, 1, 1, 1], vec![3i8]).unwrap());
    assert_eq!(named["y"], out[0]);
}

#[test]
fn checks_the_inputs() {
    let g = conv_requantize();
    let e = run(&g, &[]).unwrap_err();
    assert!(matches!(e, IrError::Input { ref name, .. } if name == "x"), "{e}");
    let wrong = Tensor::from_vec(&[1, 1, 2, 2], vec![0i8; 4]).unwrap();
    let e = run(&g, &[wrong]).unwrap_err();
    assert!(
        matches!(e, IrError::Input { ref msg, .. } if msg.contains("u8[1,1,2,2]") && msg.contains("i8[1,1,2,2]")),
        "{e}"
    );
    let short = Tensor::from_vec(&[1, 1, 2, 1], vec![0u8; 2]).unwrap();
    assert!(matches!(run(&g, &[short]), Err(IrError::Input { .. })));
}

#[test]
fn run_time_errors_name_the_node() {
    let mut b = GraphBuilder::new("overflow");
    let x = b.input("x", TensorType::new(DType::I16, [2])).unwrap();
    let s = b.node("twice", Op::Add, &[x, x]).unwrap();
    b.output(s);
    let g = b.finish().unwrap();
    let ok = run(&g, &[Tensor::from_vec(&[2], vec![100i16, -100]).unwrap()]).unwrap();
    assert_eq!(ok, vec![Tensor::from_vec(&[2], vec![200i16, -200]).unwrap()]);
    let e = run(&g, &[Tensor::from_vec(&[2], vec![20_000i16, 0]).unwrap()]).unwrap_err();
    assert!(matches!(e, IrError::ValueOutOfRange { value: 40_000, .. }));
    assert!(e.to_string().contains("add `twice`"), "{e}");
}

#[test]
fn rejects_an_invalid_graph() {
    let mut g = conv_requantize();
    g.nodes.swap(0, 1);
    let x = Tensor::from_vec(&[1, 1, 2, 2], vec![0u8; 4]).unwrap();
    assert!(run(&g, &[x]).is_err());
}
