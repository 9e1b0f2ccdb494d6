//! Memory limits of the importer (`ImportOptions::limits`, `qnn_ir::limits`): initializers,
//! constants, declared input shapes, shapes computed at import time and every value of the
//! imported graph beyond the limits — or whose dimensions overflow — are refused with an error
//! before anything of that size is decoded or allocated.

use prost::Message;
use qnn_ir::IrError;
use qnn_ir::limits::Limits;
use qnn_onnx::proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};
use qnn_onnx::{Constant, ImportOptions, Model, OnnxError};

fn value(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { dim_value: Some(d), dim_param: None }).collect();
    let tensor_type = TypeProtoTensor { elem_type: elem, shape: Some(TensorShapeProto { dim }) };
    ValueInfoProto { name: name.into(), r#type: Some(TypeProto { tensor_type: Some(tensor_type) }) }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: output.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..NodeProto::default()
    }
}

fn raw(name: &str, elem: i32, dims: &[i64], raw_data: Vec<u8>) -> TensorProto {
    TensorProto {
        name: name.into(),
        data_type: elem,
        dims: dims.to_vec(),
        raw_data,
        ..TensorProto::default()
    }
}

fn i64s(name: &str, v: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        data_type: 7,
        dims: vec![v.len() as i64],
        int64_data: v.to_vec(),
        ..TensorProto::default()
    }
}

/// A model of `nodes` with f32 input `x` of `x_dims` and output `out`.
fn model(x_dims: &[i64], nodes: Vec<NodeProto>, initializer: Vec<TensorProto>, out: &str) -> Model {
    let graph = GraphProto {
        node: nodes,
        name: "g".into(),
        initializer,
        input: vec![value("x", 1, x_dims)],
        output: vec![ValueInfoProto { name: out.into(), r#type: None }],
        ..GraphProto::default()
    };
    let m = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(graph),
        ..ModelProto::default()
    };
    Model::from_bytes(&m.encode_to_vec()).unwrap()
}

fn within(limits: Limits) -> ImportOptions {
    ImportOptions { limits, ..ImportOptions::default() }
}

fn limit_error(e: OnnxError) -> (String, Option<u64>, u64) {
    let ir = match e {
        OnnxError::Limit(ir) => *ir,
        OnnxError::Ir { source, .. } => *source,
        other => panic!("expected a limit error, got {other:?}"),
    };
    match ir {
        IrError::LimitExceeded { what, bytes, limit } => (what, bytes, limit),
        other => panic!("expected LimitExceeded, got {other:?}"),
    }
}

const KIB: Limits = Limits { max_tensor_bytes: 1024, max_graph_bytes: 8192 };

#[test]
fn initializers_are_refused_before_decoding() {
    // 2^40 × 2^40 elements, no data at all: refused by size before the data is even counted.
    let huge = raw("w", 2, &[1 << 40, 1 << 40], vec![]);
    let e = model(&[1], vec![], vec![huge.clone()], "x").import(&ImportOptions::default());
    let (what, bytes, limit) = limit_error(e.unwrap_err());
    assert!(
        what.starts_with("tensor `w` (UINT8 [1099511627776, 1099511627776], held as u8)"),
        "{what}"
    );
    assert_eq!((bytes, limit), (None, Limits::DEFAULT.max_tensor_bytes));
    assert!(matches!(Constant::from_proto(&huge), Err(OnnxError::Limit(_))));
    // An empty tensor with overflowing dimensions.
    let empty = raw("e", 2, &[0, 1 << 62, 1 << 62], vec![]);
    assert_eq!(limit_error(Constant::from_proto(&empty).unwrap_err()).1, None);
    // u8 values are held at their size: 1024 fit a 1 KiB limit (as i64 they took 8 KiB),
    // 1025 do not; fine by default.
    let w = raw("w", 2, &[1024], vec![7; 1024]);
    assert!(model(&[1], vec![], vec![w], "x").import(&within(KIB)).is_ok());
    let w = raw("w", 2, &[1025], vec![7; 1025]);
    let e = model(&[1], vec![], vec![w.clone()], "x").import(&within(KIB)).unwrap_err();
    assert_eq!(limit_error(e).1, Some(1025));
    assert!(model(&[1], vec![], vec![w], "x").import(&ImportOptions::default()).is_ok());
}

#[test]
fn declared_input_shapes_beyond_the_limit_are_refused() {
    let e = model(&[1 << 20, 1 << 20], vec![], vec![], "x").import(&ImportOptions::default());
    let e = e.unwrap_err().to_string();
    assert!(
        e.contains("graph input `x`") && e.contains("4398046511104 bytes exceed the limit"),
        "{e}"
    );
    let e = model(&[i64::MAX, 4], vec![], vec![], "x").import(&ImportOptions::default());
    assert!(e.unwrap_err().to_string().contains("more than 2^64 bytes"));
    let e = model(&[16, 17], vec![], vec![], "x").import(&within(KIB)).unwrap_err().to_string();
    assert!(e.contains("1088 bytes exceed the limit of 1024"), "{e}");
}

#[test]
fn folded_shapes_beyond_the_limit_are_refused() {
    // Reshape of an empty constant, folded at import time, to [0, 2^40, 2^40]: no elements,
    // but dimensions whose products overflow wherever they are multiplied.
    let nodes = vec![node("Reshape", &["c", "s"], "r", vec![])];
    let init = vec![i64s("c", &[]), i64s("s", &[0, 1 << 40, 1 << 40])];
    let e = model(&[1], nodes, init, "r").import(&ImportOptions::default()).unwrap_err();
    let (what, bytes, _) = limit_error(e);
    assert_eq!(what, "constant `r` (INT64 [0, 1099511627776, 1099511627776], held as i64)");
    assert_eq!(bytes, None);
}

#[test]
fn node_outputs_beyond_the_limit_are_refused_before_computing_them() {
    // Pad of a 4-element input by 2^40 after: the output type alone is refused.
    let pads = vec![i64s("p", &[0, 0, 0, 1 << 40])];
    let nodes = vec![node("Pad", &["x", "p"], "y", vec![])];
    let e = model(&[1, 4], nodes, pads, "y").import(&ImportOptions::default()).unwrap_err();
    let (what, bytes, _) = limit_error(e);
    assert!(what.contains("f32[1,1099511627780]"), "{what}");
    assert_eq!(bytes, Some(4 * ((1 << 40) + 4)));
}

#[test]
fn the_graph_total_is_limited_too() {
    // Each value fits 1 KiB; x, and 15 relus of it, do not fit 8 KiB together.
    let mut nodes = vec![node("Relu", &["x"], "r0", vec![])];
    for i in 1..16 {
        nodes.push(node("Relu", &[&format!("r{}", i - 1)], &format!("r{i}"), vec![]));
    }
    let m = model(&[16, 16], nodes, vec![], "r15");
    let e = m.import(&within(KIB)).unwrap_err();
    let (what, bytes, limit) = limit_error(e);
    assert!(what.contains("the values of graph `g`"), "{what}");
    assert_eq!((bytes, limit), (Some(9 * 1024), 8192));
    assert!(m.import(&ImportOptions::default()).is_ok());
}
