//! Malformed and hostile input: truncated or mutated model bytes, structural errors (dangling
//! inputs, cycles, values defined twice, wrong tensor sizes), unsupported ops and attributes.
//! Every one is an error naming what is wrong — never a panic.

mod common;

use common::fixture;
use proptest::prelude::*;
use prost::Message;
use qnn_onnx::proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};
use qnn_onnx::{ImportOptions, Model, OnnxError};

fn import(bytes: &[u8]) -> Result<(), OnnxError> {
    Model::from_bytes(bytes)?.import(&ImportOptions::default()).map(|_| ())
}

fn seeds() -> Vec<Vec<u8>> {
    [
        "cases/qlconv_u8s8_3x3_basic/model.onnx",
        "cases/ms_qgemm_u8s8_bias/model.onnx",
        "qdq/residual_block/model.onnx",
    ]
    .iter()
    .map(|p| std::fs::read(fixture(p)).unwrap())
    .collect()
}

fn cases() -> u32 {
    std::env::var("QNN_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn truncated_models_are_errors(which in 0usize..3, cut in 0.0f64..1.0) {
        let bytes = &seeds()[which];
        let len = (bytes.len() as f64 * cut) as usize;
        // Some prefixes are valid protobuf (a message may end between fields); none panics.
        let _ = import(&bytes[..len]);
    }

    #[test]
    fn mutated_models_never_panic(which in 0usize..3, flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = seeds()[which].clone();
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        let _ = import(&bytes);
    }
}

/// A structural mutation of a decoded model.
#[derive(Debug, Clone)]
enum Mutation {
    AttrInt { node: prop::sample::Index, value: i64 },
    AttrInts { node: prop::sample::Index, values: Vec<i64> },
    Dims { init: prop::sample::Index, dims: Vec<i64> },
    Input { node: prop::sample::Index, slot: prop::sample::Index, other: prop::sample::Index },
    DataType { init: prop::sample::Index, ty: i32 },
    Drop { node: prop::sample::Index },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let edge = prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(-1i64),
        Just(0i64),
        Just(1 << 40),
        -4i64..300
    ];
    prop_oneof![
        (any::<prop::sample::Index>(), edge.clone())
            .prop_map(|(node, value)| Mutation::AttrInt { node, value }),
        (any::<prop::sample::Index>(), prop::collection::vec(edge.clone(), 0..6))
            .prop_map(|(node, values)| Mutation::AttrInts { node, values }),
        (any::<prop::sample::Index>(), prop::collection::vec(edge, 0..5))
            .prop_map(|(init, dims)| Mutation::Dims { init, dims }),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(node, slot, other)| Mutation::Input { node, slot, other }),
        (any::<prop::sample::Index>(), -1i32..30)
            .prop_map(|(init, ty)| Mutation::DataType { init, ty }),
        any::<prop::sample::Index>().prop_map(|node| Mutation::Drop { node }),
    ]
}

fn apply(m: &mut ModelProto, mutation: &Mutation) {
    let g = m.graph.as_mut().unwrap();
    let names: Vec<String> = g
        .node
        .iter()
        .flat_map(|n| n.output.clone())
        .chain(g.initializer.iter().map(|t| t.name.clone()))
        .collect();
    if g.node.is_empty() || g.initializer.is_empty() {
        return;
    }
    match mutation {
        Mutation::AttrInt { node, value } => {
            let n = node.get_mut(&mut g.node);
            if let Some(a) = n.attribute.first_mut() {
                a.i = *value;
                a.ints = vec![*value; a.ints.len()];
            }
        }
        Mutation::AttrInts { node, values } => {
            if let Some(a) = node.get_mut(&mut g.node).attribute.last_mut() {
                a.ints = values.clone();
            }
        }
        Mutation::Dims { init, dims } => init.get_mut(&mut g.initializer).dims = dims.clone(),
        Mutation::Input { node, slot, other } => {
            let n = node.get_mut(&mut g.node);
            if !n.input.is_empty() {
                *slot.get_mut(&mut n.input) = other.get(&names).clone();
            }
        }
        Mutation::DataType { init, ty } => init.get_mut(&mut g.initializer).data_type = *ty,
        Mutation::Drop { node } => {
            let i = node.index(g.node.len());
            g.node.remove(i);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Decoded models with attributes, shapes, types and wiring changed: errors, or a graph the
    /// reference interpreter can check (small inputs only), never a panic.
    #[test]
    fn structurally_mutated_models_never_panic(which in 0usize..3, ms in prop::collection::vec(mutation(), 1..4)) {
        let mut m = ModelProto::decode(seeds()[which].as_slice()).unwrap();
        for mu in &ms {
            apply(&mut m, mu);
        }
        let _ = import(&m.encode_to_vec());
    }
}

fn tensor_type(elem: i32, dims: &[i64]) -> Option<TypeProto> {
    let dim = dims.iter().map(|&d| Dimension { dim_value: Some(d), dim_param: None }).collect();
    Some(TypeProto {
        tensor_type: Some(TypeProtoTensor {
            elem_type: elem,
            shape: Some(TensorShapeProto { dim }),
        }),
    })
}

fn value(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto { name: name.into(), r#type: tensor_type(elem, dims) }
}

fn node(name: &str, op: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        name: name.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..NodeProto::default()
    }
}

fn scalar(name: &str, elem: i32, raw: Vec<u8>) -> TensorProto {
    TensorProto { name: name.into(), data_type: elem, raw_data: raw, ..TensorProto::default() }
}

/// `x` (f32 [1, 4]) → QuantizeLinear(s = 0.5, zp = 3) → `y`, plus `extra` nodes.
fn model(extra: Vec<NodeProto>, outputs: &[&str], opset: i64) -> Vec<u8> {
    let mut nodes = vec![node("q", "QuantizeLinear", &["x", "s", "zp"], &["y"])];
    nodes.extend(extra);
    let graph = GraphProto {
        node: nodes,
        name: "g".into(),
        initializer: vec![scalar("s", 1, 0.5f32.to_le_bytes().to_vec()), scalar("zp", 2, vec![3])],
        input: vec![value("x", 1, &[1, 4])],
        output: outputs
            .iter()
            .map(|o| ValueInfoProto { name: o.to_string(), r#type: None })
            .collect(),
        ..GraphProto::default()
    };
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: opset }],
        graph: Some(graph),
        ..ModelProto::default()
    }
    .encode_to_vec()
}

fn err(bytes: &[u8]) -> String {
    import(bytes).expect_err("must be an error").to_string()
}

#[test]
fn a_well_formed_model_imports() {
    let m = Model::from_bytes(&model(vec![], &["y"], 13)).unwrap();
    let imported = m.import(&ImportOptions::default()).unwrap();
    let x = qnn_ir::Tensor::from_vec(&[1, 4], vec![0.0f32, 0.25, 1.0, -100.0]).unwrap();
    let y = qnn_ir::reference::run(&imported.graph, &[x]).unwrap();
    assert_eq!(y[0], qnn_ir::Tensor::from_vec(&[1, 4], vec![3u8, 3, 5, 0]).unwrap());
}

#[test]
fn structural_errors_name_the_problem() {
    let e = err(&model(vec![node("r", "Relu", &["nowhere"], &["z"])], &["z"], 13));
    assert!(e.contains("`r`") && e.contains("nowhere") && e.contains("defines"), "{e}");
    let cycle = vec![node("a", "Relu", &["c"], &["b"]), node("b", "Relu", &["b"], &["c"])];
    let e = err(&model(cycle, &["c"], 13));
    assert!(e.contains("cycle"), "{e}");
    let e = err(&model(vec![node("dup", "Identity", &["y"], &["y"])], &["y"], 13));
    assert!(e.contains("`y`") && e.contains("more than once"), "{e}");
    let e = err(&model(vec![], &["y"], 9));
    assert!(e.contains("opset 9"), "{e}");
    let e = err(&model(vec![], &["y"], 22));
    assert!(e.contains("opset 22") && e.contains("10..=21"), "{e}");
    let e = err(&model(vec![], &["missing"], 13));
    assert!(e.contains("missing"), "{e}");
    assert!(err(&[0xff; 16]).contains("malformed"));
    let no_graph = ModelProto { ir_version: 8, ..ModelProto::default() }.encode_to_vec();
    assert!(err(&no_graph).contains("no graph"));
}

#[test]
fn wrong_tensor_sizes_are_errors() {
    let mut bytes = model(vec![], &["y"], 13);
    let mut m = ModelProto::decode(bytes.as_slice()).unwrap();
    let g = m.graph.as_mut().unwrap();
    g.initializer[0].dims = vec![2];
    bytes = m.encode_to_vec();
    let e = err(&bytes);
    assert!(e.contains("tensor `s`") && e.contains("expected 2"), "{e}");
    let mut m = ModelProto::decode(model(vec![], &["y"], 13).as_slice()).unwrap();
    m.graph.as_mut().unwrap().initializer[1] = TensorProto {
        name: "zp".into(),
        data_type: 2,
        int32_data: vec![300],
        ..TensorProto::default()
    };
    let e = err(&m.encode_to_vec());
    assert!(e.contains("300") && e.contains("UINT8"), "{e}");
}

#[test]
fn unsupported_ops_and_attributes_name_node_op_and_attribute() {
    let e = err(&model(vec![node("lrn", "LRN", &["y"], &["z"])], &["z"], 13));
    assert!(e.contains("`lrn`") && e.contains("LRN") && e.contains("not supported"), "{e}");
    let mut t = node("t", "Transpose", &["y"], &["z"]);
    t.attribute.push(AttributeProto {
        name: "perm".into(),
        r#type: 7,
        ints: vec![1, 0],
        ..AttributeProto::default()
    });
    t.attribute.push(AttributeProto {
        name: "colour".into(),
        r#type: 2,
        i: 1,
        ..AttributeProto::default()
    });
    let e = err(&model(vec![t], &["z"], 13));
    assert!(e.contains("`t`") && e.contains("Transpose") && e.contains("`colour`"), "{e}");
    let mut p = node("p", "Pad", &["y", "s"], &["z"]);
    p.attribute.push(AttributeProto {
        name: "mode".into(),
        r#type: 3,
        s: b"symmetric".to_vec(),
        ..AttributeProto::default()
    });
    let e = err(&model(vec![p], &["z"], 13));
    assert!(e.contains("`p`") && e.contains("`mode`") && e.contains("symmetric"), "{e}");
    let mut c = node("c", "Conv", &["y", "y"], &["z"]);
    c.domain = "com.example".into();
    let e = err(&model(vec![c], &["z"], 13));
    assert!(e.contains("com.example"), "{e}");
    // A scale that is a run-time value: the importer needs constants.
    let dq = node("dq", "DequantizeLinear", &["y", "x", "zp"], &["z"]);
    let e = err(&model(vec![dq], &["z"], 13));
    assert!(
        e.contains("`dq`") && e.contains("DequantizeLinear") && e.contains("must be a constant"),
        "{e}"
    );
    let float_conv = node("fc", "Conv", &["x", "x"], &["z"]);
    let e = err(&model(vec![float_conv], &["z"], 13));
    assert!(e.contains("`fc`") && e.contains("float convolution"), "{e}");
}
