//! Inputs that crashed the importer (found by the fuzz targets under `fuzz/`, or while
//! writing them), kept as regression tests: each must now be an error, never a panic.

use prost::Message;
use qnn_onnx::proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};
use qnn_onnx::{ImportOptions, Model, OnnxError};

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

fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: 2, i, ..AttributeProto::default() }
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

/// `tests/fixtures/fuzz/<name>`, imported.
fn import_fixture(name: &str) -> Result<(), OnnxError> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz").join(name);
    Model::from_path(path)?.import(&ImportOptions::default()).map(|_| ())
}

fn import(
    nodes: Vec<NodeProto>,
    initializer: Vec<TensorProto>,
    out: &str,
) -> Result<(), OnnxError> {
    let dim = vec![Dimension { dim_value: Some(1), dim_param: None }];
    let x = TypeProtoTensor { elem_type: 1, shape: Some(TensorShapeProto { dim }) };
    let graph = GraphProto {
        node: nodes,
        name: "g".into(),
        initializer,
        input: vec![ValueInfoProto {
            name: "x".into(),
            r#type: Some(TypeProto { tensor_type: Some(x) }),
        }],
        output: vec![ValueInfoProto { name: out.into(), r#type: None }],
        ..GraphProto::default()
    };
    let m = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(graph),
        ..ModelProto::default()
    };
    Model::from_bytes(&m.encode_to_vec())?.import(&ImportOptions::default()).map(|_| ())
}

/// A constant `Reshape` to a shape of another element count was folded without a check, and
/// the folded constant (4 values, shape [50]) then made `Concat` and `Gather` folding index
/// past its data: "range end index 50 out of range for slice of length 4".
#[test]
fn folded_reshape_to_another_element_count() {
    for consumer in [
        node("Concat", &["r", "c"], "k", vec![int_attr("axis", 0)]),
        node("Gather", &["r", "i"], "k", vec![]),
    ] {
        let nodes = vec![node("Reshape", &["c", "s"], "r", vec![]), consumer];
        let init = vec![i64s("c", &[1, 2, 3, 4]), i64s("s", &[50]), i64s("i", &[49])];
        let e = import(nodes, init, "k").unwrap_err().to_string();
        assert!(e.contains("Reshape") && e.contains("shape [50] does not fit [4]"), "{e}");
    }
}

/// onnx_mutate: a QDQ `Concat` (DequantizeLinear inputs, QuantizeLinear output) whose inputs
/// were all removed indexed its first operand: "index out of bounds: the len is 0".
#[test]
fn qdq_concat_without_inputs() {
    let e = import_fixture("qdq_concat_without_inputs.onnx").unwrap_err().to_string();
    assert!(e.contains("Concat") && e.contains("takes 1.."), "{e}");
}

/// onnx_mutate: `axis` normalization accepted axis 0 of a rank-0 tensor, and folding a
/// `Squeeze` of a scalar constant with `axes = [0]` indexed its empty shape: "index out of
/// bounds: the len is 0 but the index is 0". Concat of scalar constants had the same cause.
#[test]
fn squeeze_of_a_scalar_constant() {
    let e = import_fixture("squeeze_scalar_constant.onnx").unwrap_err().to_string();
    assert!(e.contains("Squeeze") && e.contains("outside the rank 0"), "{e}");
    let scalar = TensorProto {
        name: "c".into(),
        data_type: 7,
        int64_data: vec![3],
        ..TensorProto::default()
    };
    let concat = node("Concat", &["c", "c"], "k", vec![int_attr("axis", 0)]);
    let e = import(vec![concat], vec![scalar], "k").unwrap_err().to_string();
    assert!(e.contains("Concat") && e.contains("outside the rank 0"), "{e}");
}
