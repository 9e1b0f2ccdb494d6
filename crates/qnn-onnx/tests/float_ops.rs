//! Float ops around the quantized ones: `MatMul` and `Gemm` in float (including 1-D operands
//! and `transA`/`transB`/`alpha`/`beta`), `Softmax` at opsets 12 and 13, constant folding of
//! shape arithmetic (`Shape → Gather → Unsqueeze → Concat → Reshape`), on values chosen so that
//! the exact result is the expected one.

use prost::Message;
use qnn_ir::Tensor;
use qnn_onnx::proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};
use qnn_onnx::{ImportOptions, Model};

fn input(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { dim_value: Some(d), dim_param: None }).collect();
    let tensor_type = TypeProtoTensor { elem_type: 1, shape: Some(TensorShapeProto { dim }) };
    ValueInfoProto { name: name.into(), r#type: Some(TypeProto { tensor_type: Some(tensor_type) }) }
}

fn floats(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 1,
        float_data: v.to_vec(),
        ..TensorProto::default()
    }
}

fn ints(name: &str, v: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![v.len() as i64],
        data_type: 7,
        int64_data: v.to_vec(),
        ..TensorProto::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: output.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute: attrs,
        ..NodeProto::default()
    }
}

fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: 2, i, ..AttributeProto::default() }
}

fn float_attr(name: &str, f: f32) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: 1, f, ..AttributeProto::default() }
}

fn run(
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    inputs: Vec<(ValueInfoProto, Tensor)>,
    outputs: &[&str],
    opset: i64,
) -> Vec<Tensor> {
    let graph = GraphProto {
        node: nodes,
        name: "float".into(),
        initializer: inits,
        input: inputs.iter().map(|(v, _)| v.clone()).collect(),
        output: outputs
            .iter()
            .map(|o| ValueInfoProto { name: o.to_string(), r#type: None })
            .collect(),
        ..GraphProto::default()
    };
    let m = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: opset }],
        graph: Some(graph),
        ..ModelProto::default()
    };
    let model = Model::from_bytes(&m.encode_to_vec()).unwrap();
    let imported = model.import(&ImportOptions::default()).unwrap();
    let values: Vec<Tensor> = inputs.into_iter().map(|(_, t)| t).collect();
    qnn_ir::reference::run(&imported.graph, &values).unwrap()
}

fn t(shape: &[usize], v: Vec<f32>) -> Tensor {
    Tensor::from_vec(shape, v).unwrap()
}

#[test]
fn matmul_and_gemm_in_float() {
    // x [2, 3] · w [3, 2] → relu → gemm(alpha 2, B [2, 2] transposed, beta 0.5 · C [2]).
    let nodes = vec![
        node("MatMul", &["x", "w"], "mm", vec![]),
        node("Relu", &["mm"], "r", vec![]),
        node(
            "Gemm",
            &["r", "b", "c"],
            "y",
            vec![float_attr("alpha", 2.0), float_attr("beta", 0.5), int_attr("transB", 1)],
        ),
        // 1-D operands: v [3] · w [3, 2] → [2].
        node("MatMul", &["v", "w"], "z", vec![]),
    ];
    let inits = vec![
        floats("w", &[3, 2], &[1.0, -1.0, 2.0, 0.0, 0.5, 3.0]),
        floats("b", &[2, 2], &[1.0, 2.0, -1.0, 1.0]),
        floats("c", &[2], &[4.0, -2.0]),
        floats("v", &[3], &[1.0, 1.0, 2.0]),
    ];
    let x = t(&[2, 3], vec![1.0, 2.0, 2.0, -4.0, 0.0, 1.0]);
    let out = run(nodes, inits, vec![(input("x", &[2, 3]), x)], &["y", "z"], 13);
    // mm = [[6, 5], [-3.5, 7]] → relu [[6, 5], [0, 7]]; · bᵀ = [[16, -1], [14, 7]];
    // · 2 + 0.5 · [4, −2] = [[34, −3], [30, 13]].
    assert_eq!(out[0], t(&[2, 2], vec![34.0, -3.0, 30.0, 13.0]));
    assert_eq!(out[1], t(&[2], vec![4.0, 5.0]));
}

#[test]
fn softmax_before_and_after_opset_13() {
    let x = t(&[1, 2, 2], vec![0.0, 0.0, 0.0, 0.0]);
    let sm = |axis| vec![node("Softmax", &["x"], "y", vec![int_attr("axis", axis)])];
    // Opset 13: over axis 2 alone.
    let y = run(sm(2), vec![], vec![(input("x", &[1, 2, 2]), x.clone())], &["y"], 13);
    assert_eq!(y[0], t(&[1, 2, 2], vec![0.5; 4]));
    // Opset 12: coerced to [1, 4] at axis 1, normalized over all four.
    let y = run(sm(1), vec![], vec![(input("x", &[1, 2, 2]), x)], &["y"], 12);
    assert_eq!(y[0], t(&[1, 2, 2], vec![0.25; 4]));
}

#[test]
fn shape_arithmetic_is_folded() {
    // y = reshape(x, concat(unsqueeze(gather(shape(x), 0)), [-1])): PyTorch's flatten.
    let nodes = vec![
        node("Shape", &["x"], "s", vec![]),
        node("Gather", &["s", "zero"], "n", vec![int_attr("axis", 0)]),
        node("Unsqueeze", &["n", "axes"], "n1", vec![]),
        node("Concat", &["n1", "minus1"], "target", vec![int_attr("axis", 0)]),
        node("Reshape", &["x", "target"], "y", vec![]),
    ];
    let zero = TensorProto {
        name: "zero".into(),
        data_type: 7,
        int64_data: vec![0],
        ..TensorProto::default()
    };
    let inits = vec![zero, ints("axes", &[0]), ints("minus1", &[-1])];
    let x = t(&[2, 3, 2], (0..12).map(|v| v as f32).collect());
    let y = run(nodes, inits, vec![(input("x", &[2, 3, 2]), x)], &["y"], 13);
    assert_eq!(y[0], t(&[2, 6], (0..12).map(|v| v as f32).collect()));
}
