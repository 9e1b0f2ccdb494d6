//! Builds small `.tflite` models with the generated flatbuffer builders, for the tests that
//! need models the converter does not make (random parameters, malformed or unsupported ones).

#![allow(dead_code)]

use flatbuffers::{FlatBufferBuilder, WIPOffset};
use qnn_tflite::schema as fb;

/// A tensor: shape, type, optional (scales, zero points, quantized dimension) and data.
#[derive(Debug, Clone)]
pub struct T {
    pub shape: Vec<i32>,
    pub ty: fb::TensorType,
    pub q: Option<(Vec<f32>, Vec<i64>, i32)>,
    pub data: Option<Vec<u8>>,
}

impl T {
    pub fn q8(shape: &[i32], ty: fb::TensorType, scale: f32, zp: i64) -> T {
        T { shape: shape.to_vec(), ty, q: Some((vec![scale], vec![zp], 0)), data: None }
    }
}

/// The builtin options of an operator.
#[derive(Debug, Clone)]
pub enum Opt {
    None,
    Add(fb::ActivationFunctionType),
    Sub(fb::ActivationFunctionType),
    Mul(fb::ActivationFunctionType),
    Pool(fb::Padding, [i32; 2], [i32; 2], fb::ActivationFunctionType),
}

/// One operator: code, input and output tensor indices, options.
#[derive(Debug, Clone)]
pub struct Op {
    pub code: fb::BuiltinOperator,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub opt: Opt,
}

/// The model's bytes (one subgraph).
pub fn build(tensors: &[T], ops: &[Op], inputs: &[i32], outputs: &[i32]) -> Vec<u8> {
    let mut b = FlatBufferBuilder::new();
    let mut buffers = vec![fb::Buffer::create(&mut b, &fb::BufferArgs::default())];
    let mut ts = Vec::new();
    for (i, t) in tensors.iter().enumerate() {
        let buffer = match &t.data {
            Some(d) => {
                let data = b.create_vector(d);
                buffers.push(fb::Buffer::create(
                    &mut b,
                    &fb::BufferArgs { data: Some(data), ..Default::default() },
                ));
                (buffers.len() - 1) as u32
            }
            None => 0,
        };
        let quantization = t.q.as_ref().map(|(s, z, dim)| {
            let scale = b.create_vector(s);
            let zero_point = b.create_vector(z);
            let args = fb::QuantizationParametersArgs {
                scale: Some(scale),
                zero_point: Some(zero_point),
                quantized_dimension: *dim,
                ..Default::default()
            };
            fb::QuantizationParameters::create(&mut b, &args)
        });
        let shape = b.create_vector(&t.shape);
        let name = b.create_string(&format!("t{i}"));
        let args = fb::TensorArgs {
            shape: Some(shape),
            type_: t.ty,
            buffer,
            name: Some(name),
            quantization,
            ..Default::default()
        };
        ts.push(fb::Tensor::create(&mut b, &args));
    }
    let mut codes: Vec<fb::BuiltinOperator> = Vec::new();
    let mut os = Vec::new();
    for op in ops {
        let index = codes.iter().position(|&c| c == op.code).unwrap_or_else(|| {
            codes.push(op.code);
            codes.len() - 1
        });
        let (kind, options): (fb::BuiltinOptions, Option<WIPOffset<flatbuffers::UnionWIPOffset>>) =
            match op.opt {
                Opt::None => (fb::BuiltinOptions::NONE, None),
                Opt::Add(act) => {
                    let o = fb::AddOptions::create(
                        &mut b,
                        &fb::AddOptionsArgs {
                            fused_activation_function: act,
                            ..Default::default()
                        },
                    );
                    (fb::BuiltinOptions::AddOptions, Some(o.as_union_value()))
                }
                Opt::Sub(act) => {
                    let o = fb::SubOptions::create(
                        &mut b,
                        &fb::SubOptionsArgs {
                            fused_activation_function: act,
                            ..Default::default()
                        },
                    );
                    (fb::BuiltinOptions::SubOptions, Some(o.as_union_value()))
                }
                Opt::Mul(act) => {
                    let o = fb::MulOptions::create(
                        &mut b,
                        &fb::MulOptionsArgs { fused_activation_function: act },
                    );
                    (fb::BuiltinOptions::MulOptions, Some(o.as_union_value()))
                }
                Opt::Pool(padding, [fh, fw], [sh, sw], act) => {
                    let args = fb::Pool2DOptionsArgs {
                        padding,
                        stride_w: sw,
                        stride_h: sh,
                        filter_width: fw,
                        filter_height: fh,
                        fused_activation_function: act,
                    };
                    let o = fb::Pool2DOptions::create(&mut b, &args);
                    (fb::BuiltinOptions::Pool2DOptions, Some(o.as_union_value()))
                }
            };
        let inputs = b.create_vector(&op.inputs);
        let outputs = b.create_vector(&op.outputs);
        let args = fb::OperatorArgs {
            opcode_index: index as u32,
            inputs: Some(inputs),
            outputs: Some(outputs),
            builtin_options_type: kind,
            builtin_options: options,
            ..Default::default()
        };
        os.push(fb::Operator::create(&mut b, &args));
    }
    let codes: Vec<_> = codes
        .iter()
        .map(|&c| {
            let deprecated = c.0.min(127) as i8;
            fb::OperatorCode::create(
                &mut b,
                &fb::OperatorCodeArgs {
                    builtin_code: c,
                    deprecated_builtin_code: deprecated,
                    version: 1,
                    ..Default::default()
                },
            )
        })
        .collect();
    let tensors = b.create_vector(&ts);
    let operators = b.create_vector(&os);
    let inputs = b.create_vector(inputs);
    let outputs = b.create_vector(outputs);
    let sub = fb::SubGraph::create(
        &mut b,
        &fb::SubGraphArgs {
            tensors: Some(tensors),
            inputs: Some(inputs),
            outputs: Some(outputs),
            operators: Some(operators),
            ..Default::default()
        },
    );
    let subgraphs = b.create_vector(&[sub]);
    let codes = b.create_vector(&codes);
    let buffers = b.create_vector(&buffers);
    let model = fb::Model::create(
        &mut b,
        &fb::ModelArgs {
            version: 3,
            operator_codes: Some(codes),
            subgraphs: Some(subgraphs),
            buffers: Some(buffers),
            ..Default::default()
        },
    );
    fb::finish_model_buffer(&mut b, model);
    b.finished_data().to_vec()
}
