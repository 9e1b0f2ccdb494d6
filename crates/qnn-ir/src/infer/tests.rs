//! Inference tests: one per op, and each error path.
#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads better in a table of cases

use super::infer_type;
use crate::dtype::DType::{self, *};
use crate::error::IrError;
use crate::ops::*;
use crate::quant::QuantParams;
use crate::tensor::TensorType;

fn t(d: DType, s: &[usize]) -> TensorType {
    TensorType::new(d, s)
}

fn infer(op: &Op, inputs: &[TensorType]) -> Result<TensorType, IrError> {
    infer_type(op, &inputs.iter().collect::<Vec<_>>())
}

fn qp(s: f32, z: i32) -> QuantParams {
    QuantParams::per_tensor(s, z)
}

fn conv_attrs() -> Conv2dAttrs {
    Conv2dAttrs { padding: [1, 1, 1, 1], ..Conv2dAttrs::default() }
}

#[test]
fn qnn_conv2d_shapes_in_every_layout() {
    let data = t(U8, &[1, 8, 10, 10]);
    let op = Op::QnnConv2d { conv: conv_attrs(), input: qp(0.1, 3), kernel: qp(0.2, 0) };
    assert_eq!(
        infer(&op, &[data.clone(), t(I8, &[16, 8, 3, 3])]).unwrap(),
        t(I32, &[1, 16, 10, 10])
    );
    let conv = Conv2dAttrs {
        strides: [2, 2],
        padding: [0, 1, 2, 1],
        dilation: [2, 1],
        groups: 2,
        data_layout: DataLayout::Nhwc,
        kernel_layout: KernelLayout::Hwio,
    };
    // H: (9 + 0 + 2 − 5) / 2 + 1 = 4; W: (11 + 2 − 3) / 2 + 1 = 6.
    let op = Op::QnnConv2d { conv, input: qp(0.1, 3), kernel: qp(0.2, 0) };
    assert_eq!(
        infer(&op, &[t(U8, &[2, 9, 11, 6]), t(I8, &[3, 3, 3, 10])]).unwrap(),
        t(I32, &[2, 4, 6, 10])
    );
}

#[test]
fn qnn_conv2d_errors() {
    let data = t(U8, &[1, 8, 10, 10]);
    let kernel = t(I8, &[16, 8, 3, 3]);
    let good = Op::QnnConv2d { conv: conv_attrs(), input: qp(0.1, 3), kernel: qp(0.2, 0) };
    // dtype
    let e = infer(&good, &[t(I16, &[1, 8, 10, 10]), kernel.clone()]).unwrap_err();
    assert!(matches!(e, IrError::DType { index: 0, got: I16, .. }), "{e}");
    // rank
    let e = infer(&good, &[t(U8, &[8, 10, 10]), kernel.clone()]).unwrap_err();
    assert!(matches!(e, IrError::Shape { .. }), "{e}");
    // channels
    let e = infer(&good, &[data.clone(), t(I8, &[16, 7, 3, 3])]).unwrap_err();
    assert!(e.to_string().contains("8 are needed"), "{e}");
    // groups
    let mut conv = conv_attrs();
    conv.groups = 3;
    let op = Op::QnnConv2d { conv, input: qp(0.1, 3), kernel: qp(0.2, 0) };
    assert!(
        matches!(infer(&op, &[data.clone(), kernel.clone()]), Err(IrError::Attribute { attr, .. }) if attr == "groups")
    );
    // strides and dilation
    let mut conv = conv_attrs();
    conv.strides = [0, 1];
    let op = Op::QnnConv2d { conv, input: qp(0.1, 3), kernel: qp(0.2, 0) };
    assert!(
        matches!(infer(&op, &[data.clone(), kernel.clone()]), Err(IrError::Attribute { attr, .. }) if attr == "strides")
    );
    let mut conv = conv_attrs();
    conv.dilation = [6, 1];
    let op = Op::QnnConv2d { conv, input: qp(0.1, 3), kernel: qp(0.2, 0) };
    assert!(
        infer(&op, &[data.clone(), kernel.clone()])
            .unwrap_err()
            .to_string()
            .contains("does not fit")
    );
    // quantization parameters
    let op = Op::QnnConv2d { conv: conv_attrs(), input: qp(0.0, 3), kernel: qp(0.2, 0) };
    assert!(matches!(infer(&op, &[data.clone(), kernel.clone()]), Err(IrError::BadScale { .. })));
    let op = Op::QnnConv2d { conv: conv_attrs(), input: qp(0.1, 256), kernel: qp(0.2, 0) };
    assert!(matches!(
        infer(&op, &[data.clone(), kernel.clone()]),
        Err(IrError::ZeroPointOutOfRange { value: 256, .. })
    ));
    let op = Op::QnnConv2d { conv: conv_attrs(), input: qp(0.1, 3), kernel: qp(0.2, -129) };
    assert!(matches!(
        infer(&op, &[data.clone(), kernel.clone()]),
        Err(IrError::ZeroPointOutOfRange { value: -129, .. })
    ));
    let pc = QuantParams::per_axis(vec![0.1; 16], vec![0; 16], 1);
    let op = Op::QnnConv2d { conv: conv_attrs(), input: qp(0.1, 3), kernel: pc };
    assert!(
        matches!(infer(&op, &[data.clone(), kernel.clone()]), Err(IrError::Attribute { attr, .. }) if attr == "kernel.axis")
    );
    let pc = QuantParams::per_axis(vec![0.1; 15], vec![0], 0);
    let op = Op::QnnConv2d { conv: conv_attrs(), input: qp(0.1, 3), kernel: pc };
    assert!(matches!(
        infer(&op, &[data.clone(), kernel.clone()]),
        Err(IrError::QuantLength { scales: 15, expected: 16, .. })
    ));
    let pc = QuantParams::per_axis(vec![0.1; 16], vec![0], 0);
    let op = Op::QnnConv2d { conv: conv_attrs(), input: qp(0.1, 3), kernel: pc };
    assert!(infer(&op, &[data.clone(), kernel.clone()]).is_ok());
    let op = Op::QnnConv2d {
        conv: conv_attrs(),
        input: QuantParams::per_axis(vec![0.1; 8], vec![0], 1),
        kernel: qp(0.2, 0),
    };
    assert!(
        matches!(infer(&op, &[data.clone(), kernel.clone()]), Err(IrError::Attribute { attr, .. }) if attr == "input")
    );
    // arity
    assert!(matches!(infer(&good, &[data]), Err(IrError::Arity { got: 1, .. })));
}

#[test]
fn depthwise_with_multiplier() {
    let conv = Conv2dAttrs { groups: 6, ..conv_attrs() };
    let op = Op::Conv2d { conv, pad_value: 0 };
    assert_eq!(
        infer(&op, &[t(I16, &[1, 6, 5, 5]), t(I16, &[12, 1, 3, 3])]).unwrap(),
        t(I32, &[1, 12, 5, 5])
    );
    let op = Op::Conv2d { conv: conv_attrs(), pad_value: 300 };
    assert!(
        matches!(infer(&op, &[t(U8, &[1, 6, 5, 5]), t(I8, &[2, 6, 3, 3])]), Err(IrError::Attribute { attr, .. }) if attr == "pad_value")
    );
    assert!(infer(&op, &[t(I16, &[1, 6, 5, 5]), t(I8, &[2, 6, 3, 3])]).is_ok());
}

#[test]
fn dense() {
    let op = Op::QnnDense {
        input: qp(0.5, 1),
        kernel: QuantParams::per_axis(vec![0.1, 0.2, 0.3], vec![1, 2, 3], 0),
    };
    assert_eq!(infer(&op, &[t(U8, &[4, 7]), t(U8, &[3, 7])]).unwrap(), t(I32, &[4, 3]));
    assert_eq!(infer(&op, &[t(U8, &[2, 4, 7]), t(U8, &[3, 7])]).unwrap(), t(I32, &[2, 4, 3]));
    assert!(
        infer(&op, &[t(U8, &[4, 6]), t(U8, &[3, 7])]).unwrap_err().to_string().contains("K = 6")
    );
    let op =
        Op::QnnDense { input: qp(0.5, 1), kernel: QuantParams::per_axis(vec![0.1; 7], vec![0], 1) };
    assert!(
        matches!(infer(&op, &[t(U8, &[4, 7]), t(U8, &[3, 7])]), Err(IrError::Attribute { attr, .. }) if attr == "kernel.axis")
    );
    assert_eq!(infer(&Op::Dense, &[t(I16, &[5]), t(I16, &[2, 5])]).unwrap(), t(I32, &[2]));
    assert!(infer(&Op::Dense, &[t(I32, &[5]), t(I16, &[2, 5])]).is_err());
}

#[test]
fn quantize_dequantize_requantize() {
    let op = Op::QnnQuantize {
        output: QuantParams::per_axis(vec![0.1, 0.2], vec![0, 1], 1),
        out_dtype: I8,
    };
    assert_eq!(infer(&op, &[t(F32, &[3, 2])]).unwrap(), t(I8, &[3, 2]));
    assert!(matches!(infer(&op, &[t(F32, &[3, 3])]), Err(IrError::QuantLength { .. })));
    assert!(matches!(infer(&op, &[t(U8, &[3, 2])]), Err(IrError::DType { .. })));
    let op = Op::QnnQuantize { output: qp(0.1, 0), out_dtype: F32 };
    assert!(
        matches!(infer(&op, &[t(F32, &[3])]), Err(IrError::Attribute { attr, .. }) if attr == "out_dtype")
    );
    let op = Op::QnnDequantize { input: qp(0.1, -3) };
    assert_eq!(infer(&op, &[t(I8, &[3])]).unwrap(), t(F32, &[3]));
    assert!(matches!(infer(&op, &[t(U8, &[3])]), Err(IrError::ZeroPointOutOfRange { .. })));
    let op = Op::QnnRequantize {
        input: QuantParams::per_axis(vec![0.1, 0.2], vec![0], 1),
        output: qp(0.5, 128),
        rounding: Rounding::Upward,
        out_dtype: U8,
    };
    assert_eq!(infer(&op, &[t(I32, &[1, 2, 4, 4])]).unwrap(), t(U8, &[1, 2, 4, 4]));
    assert!(matches!(infer(&op, &[t(I32, &[1, 3, 4, 4])]), Err(IrError::QuantLength { .. })));
    assert!(matches!(infer(&op, &[t(F32, &[1, 2, 4, 4])]), Err(IrError::DType { .. })));
}

#[test]
fn elementwise_qnn_ops() {
    let op = Op::QnnAdd {
        lhs: qp(0.1, 0),
        rhs: qp(0.2, 3),
        output: qp(0.3, 7),
        rounding: Rounding::Float,
        out_dtype: U8,
    };
    assert_eq!(infer(&op, &[t(U8, &[1, 4, 1, 3]), t(U8, &[5, 1])]).unwrap(), t(U8, &[1, 4, 5, 3]));
    assert!(
        infer(&op, &[t(U8, &[4]), t(U8, &[3])])
            .unwrap_err()
            .to_string()
            .contains("do not broadcast")
    );
    let op = Op::QnnMul {
        lhs: qp(0.1, 0),
        rhs: qp(0.2, 3),
        output: qp(0.3, 7),
        rounding: Rounding::ToNearest,
        out_dtype: I8,
    };
    assert_eq!(infer(&op, &[t(I8, &[2]), t(I8, &[2])]).unwrap(), t(I8, &[2]));
    let op = Op::QnnMul {
        lhs: qp(0.1, 0),
        rhs: qp(0.2, 3),
        output: qp(0.3, 7),
        rounding: Rounding::ToNearest,
        out_dtype: I32,
    };
    assert!(matches!(infer(&op, &[t(I8, &[2]), t(I8, &[2])]), Err(IrError::Attribute { .. })));
    let op = Op::QnnConcatenate {
        inputs: vec![qp(0.1, 0), qp(0.2, 1)],
        output: qp(0.3, 2),
        axis: 1,
        rounding: Rounding::Upward,
        out_dtype: U8,
    };
    assert_eq!(infer(&op, &[t(U8, &[1, 2, 3]), t(U8, &[1, 5, 3])]).unwrap(), t(U8, &[1, 7, 3]));
    assert!(matches!(infer(&op, &[t(U8, &[1, 2, 3])]), Err(IrError::Arity { .. })));
    assert!(matches!(
        infer(&op, &[t(U8, &[1, 2, 3]), t(U8, &[1, 5, 4])]),
        Err(IrError::Shape { .. })
    ));
    let op = Op::QnnClip { min: 0.0, max: 6.0, q: qp(0.1, 10) };
    assert_eq!(infer(&op, &[t(U8, &[3])]).unwrap(), t(U8, &[3]));
    let op = Op::QnnClip { min: 6.0, max: 0.0, q: qp(0.1, 10) };
    assert!(matches!(infer(&op, &[t(U8, &[3])]), Err(IrError::Attribute { .. })));
    assert_eq!(infer(&Op::QnnRelu { q: qp(0.1, -5) }, &[t(I8, &[3])]).unwrap(), t(I8, &[3]));
}

#[test]
fn pooling() {
    let pool = Pool2dAttrs {
        kernel: [3, 3],
        strides: [2, 2],
        padding: [1, 1, 1, 1],
        dilation: [1, 1],
        layout: DataLayout::Nhwc,
    };
    let op = Op::QnnMaxPool2d { pool: pool.clone() };
    assert_eq!(infer(&op, &[t(I8, &[1, 7, 7, 4])]).unwrap(), t(I8, &[1, 4, 4, 4]));
    let op = Op::QnnAvgPool2d {
        pool: pool.clone(),
        count_include_pad: false,
        input: qp(0.1, 0),
        output: qp(0.1, 0),
        rounding: Rounding::Float,
        out_dtype: U8,
    };
    assert_eq!(infer(&op, &[t(U8, &[1, 7, 7, 4])]).unwrap(), t(U8, &[1, 4, 4, 4]));
    let op = Op::Pool2d { kind: PoolKind::Sum, pool: pool.clone(), pad_value: 0 };
    assert_eq!(infer(&op, &[t(U8, &[1, 7, 7, 4])]).unwrap(), t(I32, &[1, 4, 4, 4]));
    let bad = Pool2dAttrs { padding: [3, 0, 0, 0], ..pool.clone() };
    assert!(
        matches!(infer(&Op::QnnMaxPool2d { pool: bad }, &[t(U8, &[1, 7, 7, 4])]), Err(IrError::Attribute { attr, .. }) if attr == "padding")
    );
    let bad = Pool2dAttrs { kernel: [0, 3], ..pool };
    assert!(
        matches!(infer(&Op::QnnMaxPool2d { pool: bad }, &[t(U8, &[1, 7, 7, 4])]), Err(IrError::Attribute { attr, .. }) if attr == "kernel")
    );
    // A dilated window that steps over the whole input has nothing to reduce.
    let dilated = Pool2dAttrs {
        kernel: [1, 2],
        strides: [1, 1],
        padding: [0, 1, 0, 1],
        dilation: [1, 5],
        layout: DataLayout::Nchw,
    };
    assert!(
        matches!(infer(&Op::QnnMaxPool2d { pool: dilated.clone() }, &[t(U8, &[1, 1, 1, 4])]), Err(IrError::Attribute { attr, .. }) if attr == "dilation")
    );
    let avg = |include| Op::QnnAvgPool2d {
        pool: dilated.clone(),
        count_include_pad: include,
        input: qp(0.1, 0),
        output: qp(0.1, 0),
        rounding: Rounding::Float,
        out_dtype: U8,
    };
    assert!(infer(&avg(false), &[t(U8, &[1, 1, 1, 4])]).is_err());
    assert!(infer(&avg(true), &[t(U8, &[1, 1, 1, 4])]).is_ok());
    let op = Op::QnnGlobalAvgPool2d {
        layout: DataLayout::Nchw,
        input: qp(0.1, 0),
        output: qp(0.2, 0),
        rounding: Rounding::Float,
        out_dtype: U8,
    };
    assert_eq!(infer(&op, &[t(U8, &[2, 5, 7, 7])]).unwrap(), t(U8, &[2, 5, 1, 1]));
}

#[test]
fn core_arithmetic_and_shapes() {
    assert_eq!(infer(&Op::Add, &[t(I32, &[2, 3]), t(I32, &[3])]).unwrap(), t(I32, &[2, 3]));
    assert!(matches!(
        infer(&Op::Add, &[t(I32, &[2, 3]), t(F32, &[3])]),
        Err(IrError::DType { index: 1, .. })
    ));
    assert!(matches!(
        infer(&Op::Subtract, &[t(U8, &[3]), t(U8, &[3])]),
        Err(IrError::DType { index: 0, .. })
    ));
    assert!(matches!(
        infer(&Op::Divide, &[t(I32, &[3]), t(I32, &[3])]),
        Err(IrError::DType { .. })
    ));
    assert_eq!(infer(&Op::Round, &[t(F32, &[3])]).unwrap(), t(F32, &[3]));
    assert_eq!(infer(&Op::Cast { to: I16 }, &[t(U8, &[3])]).unwrap(), t(I16, &[3]));
    let sum = Op::Sum { axes: vec![1, 3], keepdims: true };
    assert_eq!(infer(&sum, &[t(U8, &[1, 2, 3, 4])]).unwrap(), t(I32, &[1, 1, 3, 1]));
    let sum = Op::Sum { axes: vec![1], keepdims: false };
    assert_eq!(infer(&sum, &[t(F32, &[1, 2, 3])]).unwrap(), t(F32, &[1, 3]));
    let sum = Op::Sum { axes: vec![1, 1], keepdims: false };
    assert!(matches!(infer(&sum, &[t(F32, &[1, 2, 3])]), Err(IrError::Attribute { .. })));
    let pad = Op::Pad { pads: vec![[0, 0], [1, 2]], value: 3.0 };
    assert_eq!(infer(&pad, &[t(U8, &[2, 2])]).unwrap(), t(U8, &[2, 5]));
    let pad = Op::Pad { pads: vec![[0, 0], [1, 2]], value: -1.0 };
    assert!(
        matches!(infer(&pad, &[t(U8, &[2, 2])]), Err(IrError::Attribute { attr, .. }) if attr == "value")
    );
    let pad = Op::Pad { pads: vec![[1, 2]], value: 0.0 };
    assert!(
        matches!(infer(&pad, &[t(U8, &[2, 2])]), Err(IrError::Attribute { attr, .. }) if attr == "pads")
    );
    assert!(infer(&Op::Clip { min: 0.5, max: 3.0 }, &[t(I32, &[2])]).is_err());
    assert!(infer(&Op::Clip { min: 0.5, max: 3.0 }, &[t(F32, &[2])]).is_ok());
    assert_eq!(
        infer(&Op::Reshape { shape: vec![6, 1] }, &[t(I8, &[2, 3])]).unwrap(),
        t(I8, &[6, 1])
    );
    assert!(infer(&Op::Reshape { shape: vec![7] }, &[t(I8, &[2, 3])]).is_err());
    assert_eq!(
        infer(&Op::Transpose { perm: vec![2, 0, 1] }, &[t(I8, &[2, 3, 4])]).unwrap(),
        t(I8, &[4, 2, 3])
    );
    assert!(infer(&Op::Transpose { perm: vec![0, 0, 1] }, &[t(I8, &[2, 3, 4])]).is_err());
    assert_eq!(
        infer(&Op::Concatenate { axis: 0 }, &[t(I8, &[2, 3]), t(I8, &[1, 3])]).unwrap(),
        t(I8, &[3, 3])
    );
    assert!(matches!(
        infer(&Op::Concatenate { axis: 0 }, &[t(I8, &[2, 3]), t(U8, &[1, 3])]),
        Err(IrError::DType { index: 1, .. })
    ));
    assert!(matches!(
        infer(&Op::Concatenate { axis: 2 }, &[t(I8, &[2, 3])]),
        Err(IrError::Attribute { .. })
    ));
}

#[test]
fn core_requantize() {
    let fixed = |m: i32, s: i32| RequantScale::Fixed {
        mults: vec![FixedPointMultiplier { multiplier: m, shift: s }],
        rounding: FixedRounding::Upward,
    };
    let op = |scale, axes: Vec<usize>, zin: i32, zout: i32, out: DType| Op::Requantize {
        scale,
        axes,
        input_zero_point: zin,
        output_zero_point: zout,
        out_dtype: out,
    };
    let x = t(I32, &[1, 4, 2, 2]);
    assert_eq!(
        infer(&op(fixed(1 << 30, -3), vec![], 0, 5, U8), &[x.clone()]).unwrap(),
        t(U8, &[1, 4, 2, 2])
    );
    assert!(infer(&op(fixed(1 << 29, -3), vec![], 0, 5, U8), &[x.clone()]).is_err());
    assert!(infer(&op(fixed(1 << 30, -3), vec![], 0, 256, U8), &[x.clone()]).is_err());
    assert!(infer(&op(fixed(1 << 30, -3), vec![], 0, 0, F32), &[x.clone()]).is_err());
    let float4 = RequantScale::Float { mults: vec![0.5; 4] };
    assert!(infer(&op(float4.clone(), vec![1], 0, 0, I8), &[x.clone()]).is_ok());
    assert!(infer(&op(float4.clone(), vec![2], 0, 0, I8), &[x.clone()]).is_err());
    assert!(infer(&op(float4, vec![2, 3], 0, 0, I8), &[x.clone()]).is_ok());
    let nan = RequantScale::Float { mults: vec![f32::NAN] };
    assert!(infer(&op(nan, vec![], 0, 0, I8), &[x.clone()]).is_err());
    assert!(
        infer(&op(RequantScale::Float { mults: vec![0.5; 4] }, vec![3, 2], 0, 0, I8), &[x])
            .is_err()
    );
}

#[test]
fn errors_name_the_node() {
    let e = infer(&Op::Round, &[t(I32, &[1])]).unwrap_err().in_node("r1");
    assert!(e.to_string().starts_with("round `r1`"), "{e}");
}

#[test]
fn matmul_softmax_lookup_and_f32_max_pool() {
    let mm = Op::MatMul;
    assert_eq!(
        infer(&mm, &[t(U8, &[2, 1, 4, 3]), t(I8, &[5, 3, 7])]).unwrap(),
        t(I32, &[2, 5, 4, 7])
    );
    assert_eq!(infer(&mm, &[t(F32, &[4, 3]), t(F32, &[3, 2])]).unwrap(), t(F32, &[4, 2]));
    let e = infer(&mm, &[t(U8, &[4, 3]), t(I8, &[4, 2])]).unwrap_err();
    assert!(e.to_string().contains("K = 3"), "{e}");
    assert!(matches!(infer(&mm, &[t(U8, &[3]), t(I8, &[3, 2])]), Err(IrError::Shape { .. })));
    assert!(matches!(infer(&mm, &[t(F32, &[2, 3]), t(I8, &[3, 2])]), Err(IrError::DType { .. })));
    assert!(matches!(infer(&mm, &[t(I32, &[2, 3]), t(I8, &[3, 2])]), Err(IrError::DType { .. })));
    let e = infer(&mm, &[t(U8, &[2, 4, 3]), t(U8, &[3, 3, 2])]).unwrap_err();
    assert!(e.to_string().contains("broadcast"), "{e}");

    let sm = Op::Softmax { axis: 1 };
    assert_eq!(infer(&sm, &[t(F32, &[2, 10])]).unwrap(), t(F32, &[2, 10]));
    assert!(matches!(infer(&sm, &[t(U8, &[2, 10])]), Err(IrError::DType { .. })));
    assert!(matches!(
        infer(&Op::Softmax { axis: 2 }, &[t(F32, &[2, 10])]),
        Err(IrError::Attribute { .. })
    ));

    let lk = Op::Lookup;
    assert_eq!(infer(&lk, &[t(I8, &[3, 4]), t(U8, &[256])]).unwrap(), t(U8, &[3, 4]));
    assert!(matches!(infer(&lk, &[t(I8, &[3]), t(U8, &[255])]), Err(IrError::Shape { .. })));
    assert!(matches!(infer(&lk, &[t(I16, &[3]), t(U8, &[256])]), Err(IrError::DType { .. })));

    let pool = Pool2dAttrs {
        kernel: [2, 2],
        strides: [2, 2],
        padding: [0; 4],
        dilation: [1, 1],
        layout: DataLayout::Nchw,
    };
    let max = Op::Pool2d { kind: PoolKind::Max, pool: pool.clone(), pad_value: 0 };
    assert_eq!(infer(&max, &[t(F32, &[1, 3, 4, 4])]).unwrap(), t(F32, &[1, 3, 2, 2]));
    let sum = Op::Pool2d { kind: PoolKind::Sum, pool: pool.clone(), pad_value: 0 };
    assert_eq!(infer(&sum, &[t(F32, &[1, 3, 4, 4])]).unwrap(), t(F32, &[1, 3, 2, 2]));
    let inexact = Op::Pool2d { kind: PoolKind::Sum, pool, pad_value: (1 << 24) + 1 };
    assert!(matches!(infer(&inexact, &[t(F32, &[1, 3, 4, 4])]), Err(IrError::Attribute { .. })));
}
