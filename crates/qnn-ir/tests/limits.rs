//! Resource limits: values whose types exceed the memory limits, or whose dimensions overflow,
//! are refused with `IrError::LimitExceeded` by the builder, the verifier, the text parser and
//! the reference interpreter — before anything of that size is allocated (a test that
//! allocated 2^40 bytes would abort instead of failing).

use qnn_ir::limits::Limits;
use qnn_ir::text::{parse, parse_unverified};
use qnn_ir::*;

const SMALL: Limits = Limits { max_tensor_bytes: 1 << 10, max_graph_bytes: 1 << 12 };

fn pad(after: usize) -> Op {
    Op::Pad { pads: vec![[0, 0], [0, after]], value: 0.0 }
}

fn exceeded(e: IrError) -> (String, Option<u64>, u64) {
    match e {
        IrError::LimitExceeded { what, bytes, limit } => (what, bytes, limit),
        other => panic!("expected LimitExceeded, got {other:?}"),
    }
}

#[test]
fn builder_refuses_inputs_constants_and_node_outputs_beyond_the_limit() {
    let mut b = GraphBuilder::with_limits("g", SMALL);
    let e = b.input("big", TensorType::new(DType::I32, [16, 17])).unwrap_err();
    assert_eq!(exceeded(e), ("value `big` (i32[16,17])".into(), Some(1088), 1024));
    let e = b.input("huge", TensorType::new(DType::U8, [1 << 40, 1 << 40])).unwrap_err();
    assert_eq!(exceeded(e).1, None);
    let e = b.constant("w", Tensor::zeros(&TensorType::new(DType::I16, [513]))).unwrap_err();
    assert_eq!(exceeded(e).0, "value `w` (i16[513])");
    // The refused values were not added: the names are still free.
    let x = b.input("big", TensorType::new(DType::U8, [4, 4])).unwrap();
    // A node whose inferred output is too large is refused before anything computes it.
    let e = b.node("padded", pad(1 << 20), &[x]).unwrap_err();
    assert_eq!(exceeded(e).0, "value `padded` (u8[4,1048580])");
    // 4 · (2^64 − 5) bytes do not fit 64 bits; 4 + 2^64 − 1 does not even fit a dimension.
    let e = b.node("wide", pad(usize::MAX - 8), &[x]).unwrap_err();
    assert_eq!(exceeded(e).1, None);
    let e = b.node("overflow", pad(usize::MAX), &[x]).unwrap_err();
    assert!(matches!(e, IrError::Attribute { .. }), "{e:?}");
    b.output(x);
    assert!(b.finish().is_ok());
}

#[test]
fn builder_refuses_a_graph_whose_values_together_exceed_the_limit() {
    let mut b = GraphBuilder::with_limits("g", SMALL);
    for i in 0..4 {
        b.input(format!("x{i}"), TensorType::new(DType::U8, [1024])).unwrap();
    }
    let e = b.input("x4", TensorType::new(DType::U8, [1])).unwrap_err();
    let (what, bytes, limit) = exceeded(e);
    assert_eq!((bytes, limit), (Some(4097), 4096));
    assert!(what.contains("graph `g`") && what.contains("`x4`"), "{what}");
}

/// A graph built without limits: `x` u8[4, 4] padded to u8[4, 4 + after].
fn unlimited_pad_graph(after: usize) -> Graph {
    let mut b = GraphBuilder::with_limits("big", Limits::UNLIMITED);
    let x = b.input("x", TensorType::new(DType::U8, [4, 4])).unwrap();
    let y = b.node("y", pad(after), &[x]).unwrap();
    b.output(y);
    b.finish().unwrap()
}

#[test]
fn verify_and_the_reference_refuse_before_allocating() {
    let g = unlimited_pad_graph(1 << 40);
    let e = g.verify().unwrap_err();
    let (what, bytes, limit) = exceeded(e.clone());
    assert_eq!(what, "value `y` (u8[4,1099511627780])");
    assert_eq!((bytes, limit), (Some(4 * ((1 << 40) + 4)), Limits::DEFAULT.max_tensor_bytes));
    let x = Tensor::zeros(&TensorType::new(DType::U8, [4, 4]));
    assert_eq!(reference::run(&g, &[x]).unwrap_err(), e);
    // Within the default limits the same graph shape runs.
    let small = unlimited_pad_graph(2);
    let x = Tensor::zeros(&TensorType::new(DType::U8, [4, 4]));
    assert_eq!(reference::run(&small, &[x]).unwrap()[0].shape(), &[4, 6]);
    assert!(exceeded(small.verify_with(&SMALL.with_tensor_bytes(20)).unwrap_err()).1 == Some(24));
}

#[test]
fn dimensions_that_overflow_are_refused_even_when_the_tensor_is_empty() {
    let ty = TensorType::new(DType::U8, [0, usize::MAX, 2]);
    assert_eq!(ty.checked_len(), Some(0));
    let (_, bytes, _) = exceeded(Limits::UNLIMITED.check_type("e", &ty).unwrap_err());
    assert_eq!(bytes, None);
}

#[test]
fn the_verified_parse_refuses_types_beyond_the_limit() {
    // `parse_unverified` reads any declared type (it allocates only what the text holds, and
    // must give back every printed graph); `parse` verifies, and the limits come first.
    let src = "graph g {\n  input %x: u8[65536,65536]\n  return %x\n}\n";
    assert!(parse_unverified(src).is_ok());
    let (what, bytes, _) = exceeded(parse(src).unwrap_err());
    assert_eq!((what.as_str(), bytes), ("value `x` (u8[65536,65536])", Some(1 << 32)));
    let src = "graph g {\n  input %x: u8[4]\n  %y: u8[4,4294967296] = reshape(%x) {shape = [4, 4294967296]}\n  return %y\n}\n";
    assert_eq!(exceeded(parse(src).unwrap_err()).0, "value `y` (u8[4,4294967296])");
    // A constant is read element by element from the text: its declared size allocates nothing.
    let src = "graph g {\n  const %c: u8[4294967296] = [1, 2]\n  return %c\n}\n";
    let e = parse_unverified(src).unwrap_err().to_string();
    assert!(e.contains("2 element(s) given, type u8[4294967296] has 4294967296"), "{e}");
}
