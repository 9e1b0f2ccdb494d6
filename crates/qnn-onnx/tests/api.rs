//! The API a command-line tool needs: graph inputs and outputs with their ONNX types, inputs
//! that must be bound to constants, shapes for symbolic dimensions, the per-node summary.

mod common;

use common::fixture;
use prost::Message;
use qnn_onnx::proto::ModelProto;
use qnn_onnx::{Dim, Form, ImportOptions, Model, OnnxType, tensor_from_pb};

#[test]
fn node_test_models_name_the_inputs_to_bind() {
    let dir = fixture("node/onnx-1.16.2/test_qlinearconv");
    let model = Model::from_path(dir.join("model.onnx")).unwrap();
    let inputs: Vec<String> = model.inputs().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(inputs.len(), 8);
    let statics = model.static_inputs();
    assert_eq!(
        statics,
        ["x_scale", "x_zero_point", "w_scale", "w_zero_point", "y_scale", "y_zero_point"]
    );
    // Unbound, the importer says which input must be a constant.
    let e = model.import(&ImportOptions::default()).unwrap_err().to_string();
    assert!(e.contains("QLinearConv") && e.contains("zero_point") && e.contains("constant"), "{e}");
    let mut opts = ImportOptions::default();
    for (k, name) in inputs.iter().enumerate() {
        if statics.contains(name) {
            let pb = std::fs::read(dir.join(format!("test_data_set_0/input_{k}.pb"))).unwrap();
            opts.bindings.insert(name.clone(), tensor_from_pb(&pb).unwrap());
        }
    }
    let imported = model.import(&opts).unwrap();
    let names: Vec<&str> = imported.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["x", "w"]);
    assert_eq!(imported.outputs[0].elem_type, OnnxType::UINT8);
    assert_eq!(
        imported.outputs[0].dims,
        Some(vec![Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(7), Dim::Fixed(7)])
    );
    let mut bad = ImportOptions::default();
    bad.bindings.insert(
        "nope".into(),
        tensor_from_pb(&std::fs::read(dir.join("test_data_set_0/input_1.pb")).unwrap()).unwrap(),
    );
    assert!(model.import(&bad).unwrap_err().to_string().contains("nope"));
}

#[test]
fn symbolic_dimensions_take_given_shapes() {
    let bytes = std::fs::read(fixture("cases/qlmatmul_u8s8/model.onnx")).unwrap();
    let mut m = ModelProto::decode(bytes.as_slice()).unwrap();
    let g = m.graph.as_mut().unwrap();
    let shape =
        g.input[0].r#type.as_mut().unwrap().tensor_type.as_mut().unwrap().shape.as_mut().unwrap();
    shape.dim[0].dim_value = None;
    shape.dim[0].dim_param = Some("batch".into());
    let model = Model::from_bytes(&m.encode_to_vec()).unwrap();
    let info = &model.inputs().unwrap()[0];
    assert_eq!(info.dims.as_ref().unwrap()[0], Dim::Symbolic("batch".into()));
    assert!(info.to_string().contains("[batch,"), "{info}");
    let e = model.import(&ImportOptions::default()).unwrap_err().to_string();
    assert!(e.contains("batch") && e.contains("shape"), "{e}");
    let k = info.fixed_shape().is_none();
    assert!(k);
    let Dim::Fixed(k) = info.dims.as_ref().unwrap()[1] else { panic!("{info}") };
    let mut opts = ImportOptions::default();
    opts.input_shapes.insert(info.name.clone(), vec![7, k]);
    let imported = model.import(&opts).unwrap();
    assert_eq!(imported.graph.ty(imported.graph.outputs[0]).shape[0], 7);
    opts.input_shapes.insert(info.name.clone(), vec![7, k + 1]);
    assert!(model.import(&opts).unwrap_err().to_string().contains("does not match"));
}

#[test]
fn the_summary_lists_every_node_with_its_form() {
    let model = Model::from_path(fixture("qdq/residual_block/model.onnx")).unwrap();
    let imported = model.import(&ImportOptions::default()).unwrap();
    let conv: Vec<_> = imported.nodes.iter().filter(|n| n.op_type == "Conv").collect();
    assert_eq!(conv.len(), 2);
    for c in &conv {
        assert_eq!(c.form, Form::Qdq);
        assert!(c.macs > 0 && !c.fused.is_empty() && !c.qnn_nodes.is_empty(), "{c:?}");
    }
    // Both Relus are removed (their Q clips at 0): folded, no qnn nodes.
    let relus: Vec<_> = imported.nodes.iter().filter(|n| n.op_type == "Relu").collect();
    assert!(relus.iter().all(|r| r.form == Form::Folded && r.qnn_nodes.is_empty()), "{relus:?}");
    let gemm = imported.nodes.iter().find(|n| n.op_type == "Gemm").unwrap();
    assert_eq!((gemm.form, gemm.macs), (Form::Qdq, 5 * 8));
    let qnn: usize = imported.nodes.iter().map(|n| n.qnn_nodes.len()).sum();
    assert_eq!(qnn, imported.graph.nodes.len(), "every qnn node is attributed to one ONNX node");
}
