//! Synthetic models, built in memory: the scaling benchmark (`qnn-benches`' `import_scaling`)
//! and the tests of hostile and huge inputs generate them instead of storing megabytes of
//! fixtures.

use prost::Message;

use crate::proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};

/// How the nodes of a [`qlinearconv_chain`] get their weights and quantization parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initializers {
    /// One set of initializers read by every node.
    Shared,
    /// Each node its own initializers.
    PerNode,
}

/// A declared tensor `name` of ONNX element type `elem` and shape `dims`.
pub fn value_info(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { dim_value: Some(d), dim_param: None }).collect();
    let tensor_type = TypeProtoTensor { elem_type: elem, shape: Some(TensorShapeProto { dim }) };
    ValueInfoProto { name: name.into(), r#type: Some(TypeProto { tensor_type: Some(tensor_type) }) }
}

/// An initializer from its raw little-endian bytes.
pub fn raw_tensor(name: &str, elem: i32, dims: &[i64], raw_data: Vec<u8>) -> TensorProto {
    TensorProto {
        name: name.into(),
        data_type: elem,
        dims: dims.to_vec(),
        raw_data,
        ..TensorProto::default()
    }
}

/// A node with one output named after itself.
pub fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: output.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..NodeProto::default()
    }
}

/// The encoded model of `graph` at opset 13.
pub fn encode(graph: GraphProto) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(graph),
        ..ModelProto::default()
    }
    .encode_to_vec()
}

/// A chain of `nodes` 1×1 `QLinearConv`s on a u8 input `x` of shape `[1, channels, 4, 4]`
/// (u8 activations, i8 weights, per-tensor parameters), output `y`: the shape of a deep
/// network's import and compilation without its arithmetic.
pub fn qlinearconv_chain(nodes: usize, channels: usize, init: Initializers) -> Vec<u8> {
    let c = channels as i64;
    let params = |p: &str| -> Vec<TensorProto> {
        vec![
            raw_tensor(&format!("{p}x_scale"), 1, &[], 0.05f32.to_le_bytes().to_vec()),
            raw_tensor(&format!("{p}x_zp"), 2, &[], vec![128]),
            raw_tensor(&format!("{p}w"), 3, &[c, c, 1, 1], weights(channels)),
            raw_tensor(&format!("{p}w_scale"), 1, &[], 0.01f32.to_le_bytes().to_vec()),
            raw_tensor(&format!("{p}w_zp"), 3, &[], vec![0]),
            raw_tensor(&format!("{p}y_scale"), 1, &[], 0.05f32.to_le_bytes().to_vec()),
            raw_tensor(&format!("{p}y_zp"), 2, &[], vec![128]),
        ]
    };
    let mut initializer = Vec::new();
    if init == Initializers::Shared {
        initializer.extend(params(""));
    }
    let mut node_protos = Vec::with_capacity(nodes);
    for i in 0..nodes {
        let p = match init {
            Initializers::Shared => String::new(),
            Initializers::PerNode => {
                initializer.extend(params(&format!("n{i}_")));
                format!("n{i}_")
            }
        };
        let x = if i == 0 { "x".to_string() } else { format!("t{}", i - 1) };
        let out = if i + 1 == nodes { "y".to_string() } else { format!("t{i}") };
        let names: Vec<String> = ["x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp"]
            .iter()
            .map(|n| format!("{p}{n}"))
            .collect();
        let mut inputs = vec![x.as_str()];
        inputs.extend(names.iter().map(String::as_str));
        node_protos.push(node("QLinearConv", &inputs, &out, Vec::new()));
    }
    encode(GraphProto {
        node: node_protos,
        name: format!("chain{nodes}"),
        initializer,
        input: vec![value_info("x", 2, &[1, c, 4, 4])],
        output: vec![value_info("y", 2, &[1, c, 4, 4])],
        ..GraphProto::default()
    })
}

/// Small weights in -2..=2, so that a long chain stays away from saturation.
fn weights(channels: usize) -> Vec<u8> {
    (0..channels * channels).map(|i| ((i % 5) as i8 - 2) as u8).collect()
}
