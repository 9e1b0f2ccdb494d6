//! One hand-checked example and the error cases of every op, through `eval_op` (inference
//! first, then the reference kernel).

use qnn_ir::reference::eval_op;
use qnn_ir::{
    Conv2dAttrs, DType, DataLayout, Element, FixedPointMultiplier, FixedRounding, IrError, Op,
    Pool2dAttrs, PoolKind, QuantParams, RequantScale, Rounding, Tensor,
};

fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(shape, v).unwrap()
}

fn eval(op: &Op, inputs: &[&Tensor]) -> Tensor {
    eval_op(op, inputs).unwrap_or_else(|e| panic!("{}: {e}", op.name()))
}

fn err(op: &Op, inputs: &[&Tensor]) -> IrError {
    match eval_op(op, inputs) {
        Ok(t) => panic!("{} should fail, gave {t:?}", op.name()),
        Err(e) => {
            assert!(e.to_string().contains(op.name()), "error does not name the op: {e}");
            e
        }
    }
}

fn pt(scale: f32, zp: i32) -> QuantParams {
    QuantParams::per_tensor(scale, zp)
}

fn pool(kernel: [usize; 2], padding: [usize; 4], dilation: [usize; 2]) -> Pool2dAttrs {
    Pool2dAttrs { kernel, strides: [1, 1], padding, dilation, layout: DataLayout::Nchw }
}

#[test]
fn qnn_quantize_dequantize_requantize() {
    let op = Op::QnnQuantize { output: pt(0.5, 3), out_dtype: DType::I8 };
    let x = t(&[4], vec![1.25f32, -1.25, 100.0, -0.1]);
    // 2.5 → 2, −2.5 → −2 (half even), 200 → 127 (saturated), −0.2 → 0; plus 3.
    assert_eq!(eval(&op, &[&x]), t(&[4], vec![5i8, 1, 127, 3]));
    let bad = Op::QnnQuantize { output: pt(0.0, 0), out_dtype: DType::U8 };
    assert!(matches!(err(&bad, &[&x]), IrError::BadScale { .. }));
    assert!(matches!(err(&op, &[&t(&[1], vec![0u8])]), IrError::DType { .. }));

    let op = Op::QnnDequantize { input: pt(0.5, 3) };
    assert_eq!(eval(&op, &[&t(&[2], vec![5i8, 0])]), t(&[2], vec![1.0f32, -1.5]));
    let bad = Op::QnnDequantize { input: pt(0.5, 300) };
    assert!(matches!(err(&bad, &[&t(&[1], vec![0u8])]), IrError::ZeroPointOutOfRange { .. }));

    let op = Op::QnnRequantize {
        input: pt(0.25, 10),
        output: pt(1.0, -5),
        rounding: Rounding::ToNearest,
        out_dtype: DType::I8,
    };
    // (x − 10) / 4 − 5: 16 → 1.5 → 2 → −3; 4 → −1.5 → −2 → −7; 10 000 → saturates.
    let y = eval(&op, &[&t(&[3], vec![16i32, 4, 10_000])]);
    assert_eq!(y, t(&[3], vec![-3i8, -7, 127]));
    let huge = Op::QnnRequantize {
        input: pt(1e30, 0),
        output: pt(1e-10, 0),
        rounding: Rounding::Upward,
        out_dtype: DType::I8,
    };
    assert!(matches!(err(&huge, &[&t(&[1], vec![1i32])]), IrError::Attribute { .. }));
    // Float mode: f32(3e38 / 1e-38) is infinite.
    let inf = Op::QnnRequantize {
        input: pt(3e38, 0),
        output: pt(1e-38, 0),
        rounding: Rounding::Float,
        out_dtype: DType::I8,
    };
    assert!(matches!(err(&inf, &[&t(&[1], vec![0i32])]), IrError::Attribute { .. }));
}

#[test]
fn qnn_conv2d_and_dense() {
    let op = Op::QnnConv2d {
        conv: Conv2dAttrs { padding: [0, 1, 0, 0], ..Conv2dAttrs::default() },
        input: pt(1.0, 128),
        kernel: pt(1.0, -1),
    };
    // data [130, 127] padded left with 128 (real 0); kernel [1, 2] − (−1) = [2, 3].
    let x = t(&[1, 1, 1, 2], vec![130u8, 127]);
    let w = t(&[1, 1, 1, 2], vec![1i8, 2]);
    // windows: (pad, 130) → 0·2 + 2·3 = 6; (130, 127) → 2·2 + (−1)·3 = 1.
    assert_eq!(eval(&op, &[&x, &w]), t(&[1, 1, 1, 2], vec![6i32, 1]));
    let w3 = t(&[1, 2, 1, 1], vec![0i8, 0]);
    assert!(matches!(err(&op, &[&x, &w3]), IrError::Shape { .. }));

    let op = Op::QnnDense {
        input: pt(1.0, 1),
        kernel: QuantParams::per_axis(vec![1.0; 2], vec![0, 2], 0),
    };
    let x = t(&[1, 2], vec![3u8, 5]);
    let w = t(&[2, 2], vec![1i8, 1, 2, 3]);
    // n0: 2·1 + 4·1 = 6; n1: 2·0 + 4·1 = 4.
    assert_eq!(eval(&op, &[&x, &w]), t(&[1, 2], vec![6i32, 4]));
    assert!(matches!(err(&op, &[&t(&[1, 3], vec![0u8; 3]), &w]), IrError::Shape { .. }));
}

#[test]
fn qnn_add_mul_concatenate() {
    let add = Op::QnnAdd {
        lhs: pt(0.5, 10),
        rhs: pt(0.25, 0),
        output: pt(1.0, 2),
        rounding: Rounding::Upward,
        out_dtype: DType::U8,
    };
    // (20 − 10)·0.5 = 5, 8·0.25 = 2 → 7 + 2 = 9; (0 − 10)·0.5 = −5, 0 → −3 → clamped 0.
    let y = eval(&add, &[&t(&[2], vec![20u8, 0]), &t(&[2], vec![8u8, 0])]);
    assert_eq!(y, t(&[2], vec![9u8, 0]));
    assert!(matches!(
        err(&add, &[&t(&[2], vec![0u8; 2]), &t(&[3], vec![0u8; 3])]),
        IrError::Shape { .. }
    ));

    let mul = Op::QnnMul {
        lhs: pt(0.5, 0),
        rhs: pt(0.5, 0),
        output: pt(0.5, -1),
        rounding: Rounding::Float,
        out_dtype: DType::I8,
    };
    // 3·5·0.25 / 0.5 = 7.5; ORT's QLinearMul adds the zero point before rounding: 7.5 − 1 =
    // 6.5 → 6 (half even), −7.5 − 1 = −8.5 → −8; broadcast over [2].
    let y = eval(&mul, &[&t(&[2], vec![3i8, -3]), &t(&[1], vec![5i8])]);
    assert_eq!(y, t(&[2], vec![6i8, -8]));
    let per_axis = Op::QnnMul {
        lhs: QuantParams::per_axis(vec![0.5, 0.5], vec![0], 0),
        rhs: pt(0.5, 0),
        output: pt(0.5, -1),
        rounding: Rounding::Float,
        out_dtype: DType::I8,
    };
    assert!(matches!(
        err(&per_axis, &[&t(&[2], vec![0i8; 2]), &t(&[2], vec![0i8; 2])]),
        IrError::Attribute { .. }
    ));

    let cat = Op::QnnConcatenate {
        inputs: vec![pt(1.0, 0), pt(2.0, 100)],
        output: pt(1.0, 0),
        axis: 0,
        rounding: Rounding::ToNearest,
        out_dtype: DType::U8,
    };
    // second input: (x − 100)·2 → 101 → 2, 99 → −2 → clamped 0.
    let y = eval(&cat, &[&t(&[1], vec![7u8]), &t(&[2], vec![101u8, 99])]);
    assert_eq!(y, t(&[3], vec![7u8, 2, 0]));
    assert!(matches!(err(&cat, &[&t(&[1], vec![7u8])]), IrError::Arity { .. }));
}

#[test]
fn qnn_pools_clip_relu() {
    let avg = Op::QnnAvgPool2d {
        pool: pool([1, 2], [0, 1, 0, 0], [1, 1]),
        count_include_pad: false,
        input: pt(1.0, 2),
        output: pt(1.0, 0),
        rounding: Rounding::Upward,
        out_dtype: DType::U8,
    };
    // windows over [5, 8] padded left: (pad, 5) → 3 / 1; (5, 8) → (3 + 6) / 2 = 4.5 → 5.
    let x = t(&[1, 1, 1, 2], vec![5u8, 8]);
    assert_eq!(eval(&avg, &[&x]), t(&[1, 1, 1, 2], vec![3u8, 5]));
    // A dilated window can sit entirely in the padding (2 taps, 5 apart, around 4 cells).
    let hole = Op::QnnAvgPool2d {
        pool: pool([1, 2], [0, 1, 0, 1], [1, 5]),
        count_include_pad: false,
        input: pt(1.0, 2),
        output: pt(1.0, 0),
        rounding: Rounding::Upward,
        out_dtype: DType::U8,
    };
    let x4 = t(&[1, 1, 1, 4], vec![1u8, 2, 3, 4]);
    assert!(matches!(err(&hole, &[&x4]), IrError::Attribute { .. }));

    let gap = Op::QnnGlobalAvgPool2d {
        layout: DataLayout::Nhwc,
        input: pt(1.0, 0),
        output: pt(0.5, 1),
        rounding: Rounding::Float,
        out_dtype: DType::I8,
    };
    // NHWC 1×1×2×1 = [3, 4] → 3.5 / 0.5 = 7 + 1.
    assert_eq!(eval(&gap, &[&t(&[1, 1, 2, 1], vec![3i8, 4])]), t(&[1, 1, 1, 1], vec![8i8]));
    assert!(matches!(err(&gap, &[&t(&[1, 2, 1], vec![0i8; 2])]), IrError::Shape { .. }));

    let max = Op::QnnMaxPool2d { pool: pool([1, 2], [0, 1, 0, 0], [1, 1]) };
    assert_eq!(eval(&max, &[&t(&[1, 1, 1, 2], vec![-5i8, -7])]), t(&[1, 1, 1, 2], vec![-5i8, -5]));
    let hole = Op::QnnMaxPool2d { pool: pool([1, 2], [0, 1, 0, 1], [1, 5]) };
    assert!(matches!(err(&hole, &[&x4]), IrError::Attribute { .. }));

    let clip = Op::QnnClip { min: 0.0, max: 6.0, q: pt(0.1, 10) };
    // [0, 6] → [10, 70].
    assert_eq!(eval(&clip, &[&t(&[3], vec![0u8, 50, 90])]), t(&[3], vec![10u8, 50, 70]));
    let bad = Op::QnnClip { min: 1.0, max: 0.0, q: pt(0.1, 10) };
    assert!(matches!(err(&bad, &[&t(&[1], vec![0u8])]), IrError::Attribute { .. }));

    let relu = Op::QnnRelu { q: pt(0.1, -3) };
    assert_eq!(eval(&relu, &[&t(&[3], vec![-10i8, -3, 4])]), t(&[3], vec![-3i8, -3, 4]));
    assert!(matches!(err(&relu, &[&t(&[1], vec![0i16])]), IrError::DType { .. }));
}

#[test]
fn core_conv_dense_cast() {
    let conv = Op::Conv2d {
        conv: Conv2dAttrs { strides: [1, 2], ..Conv2dAttrs::default() },
        pad_value: 0,
    };
    let x = t(&[1, 1, 1, 3], vec![1i16, -2, 3]);
    let w = t(&[1, 1, 1, 1], vec![-4i8]);
    assert_eq!(eval(&conv, &[&x, &w]), t(&[1, 1, 1, 2], vec![-4i32, -12]));
    let big = t(&[1, 2, 1, 1], vec![i16::MIN; 2]);
    let e = err(&conv, &[&big, &t(&[1, 2, 1, 1], vec![i16::MIN; 2])]);
    assert!(matches!(e, IrError::AccumulatorOverflow { value, .. } if value == 1 << 31));

    let dense = Op::Dense;
    assert_eq!(
        eval(&dense, &[&t(&[3], vec![1u8, 2, 3]), &t(&[1, 3], vec![1i8, 1, 1])]),
        t(&[1], vec![6i32])
    );
    let e = err(&dense, &[&t(&[2], vec![i16::MIN; 2]), &t(&[1, 2], vec![i16::MIN; 2])]);
    assert!(matches!(e, IrError::AccumulatorOverflow { .. }));

    let cast = Op::Cast { to: DType::U8 };
    assert_eq!(eval(&cast, &[&t(&[3], vec![-1i32, 7, 300])]), t(&[3], vec![0u8, 7, 255]));
    assert!(matches!(err(&cast, &[]), IrError::Arity { .. }));
}

#[test]
fn core_arithmetic() {
    let (a, b) = (t(&[2], vec![30_000i16, -5]), t(&[1], vec![3000i16]));
    assert_eq!(eval(&Op::Subtract, &[&a, &b]), t(&[2], vec![27_000i16, -3005]));
    assert!(matches!(err(&Op::Add, &[&a, &b]), IrError::ValueOutOfRange { value: 33_000, .. }));
    assert_eq!(eval(&Op::Add, &[&b, &b]), t(&[1], vec![6000i16]));
    let neg = t(&[1], vec![-30_000i16]);
    assert!(matches!(err(&Op::Subtract, &[&neg, &b]), IrError::ValueOutOfRange { .. }));
    let m = t(&[1], vec![1i32 << 16]);
    assert_eq!(eval(&Op::Multiply, &[&t(&[1], vec![7i32]), &m]), t(&[1], vec![7i32 << 16]));
    assert!(
        matches!(err(&Op::Multiply, &[&m, &m]), IrError::ValueOutOfRange { value, .. } if value == 1 << 32)
    );
    let f = t(&[2], vec![1.0f32, -3.0]);
    assert_eq!(eval(&Op::Divide, &[&f, &t(&[1], vec![2.0f32])]), t(&[2], vec![0.5f32, -1.5]));
    assert!(matches!(err(&Op::Divide, &[&b, &b]), IrError::DType { .. }));
    assert_eq!(eval(&Op::Round, &[&t(&[2], vec![0.5f32, -1.5])]), t(&[2], vec![0.0f32, -2.0]));
    assert!(matches!(err(&Op::Round, &[&b]), IrError::DType { .. }));
}

#[test]
fn core_reductions_and_padding() {
    let sum = Op::Sum { axes: vec![0], keepdims: false };
    assert_eq!(eval(&sum, &[&t(&[2, 2], vec![1i8, 2, 3, 4])]), t(&[2], vec![4i32, 6]));
    assert!(matches!(
        err(&sum, &[&t(&[2], vec![i32::MIN, -1])]),
        IrError::AccumulatorOverflow { .. }
    ));

    let psum =
        Op::Pool2d { kind: PoolKind::Sum, pool: pool([1, 2], [0, 1, 0, 0], [1, 1]), pad_value: -1 };
    assert_eq!(eval(&psum, &[&t(&[1, 1, 1, 2], vec![5i8, 7])]), t(&[1, 1, 1, 2], vec![4i32, 12]));
    let e = err(&psum, &[&t(&[1, 1, 1, 2], vec![i32::MIN, -1])]);
    assert!(matches!(e, IrError::AccumulatorOverflow { .. }));
    let pmax =
        Op::Pool2d { kind: PoolKind::Max, pool: pool([1, 2], [0, 1, 0, 1], [1, 5]), pad_value: 0 };
    assert!(matches!(err(&pmax, &[&t(&[1, 1, 1, 4], vec![0u8; 4])]), IrError::Attribute { .. }));

    let pad = Op::Pad { pads: vec![[1, 1]], value: -2.0 };
    assert_eq!(eval(&pad, &[&t(&[1], vec![9i8])]), t(&[3], vec![-2i8, 9, -2]));
    let frac = Op::Pad { pads: vec![[1, 1]], value: 0.5 };
    assert!(matches!(err(&frac, &[&t(&[1], vec![9i8])]), IrError::Attribute { .. }));

    let clip = Op::Clip { min: -1.0, max: 3.0 };
    assert_eq!(eval(&clip, &[&t(&[3], vec![-5i32, 2, 9])]), t(&[3], vec![-1i32, 2, 3]));
    let bad = Op::Clip { min: 3.0, max: -1.0 };
    assert!(matches!(err(&bad, &[&t(&[1], vec![0i32])]), IrError::Attribute { .. }));
}

#[test]
fn core_requantize() {
    let m = FixedPointMultiplier::from_real(0.75).unwrap();
    let op = Op::Requantize {
        scale: RequantScale::Fixed { mults: vec![m], rounding: FixedRounding::Upward },
        axes: vec![],
        input_zero_point: 2,
        output_zero_point: 100,
        out_dtype: DType::U8,
    };
    // (4 − 2)·0.75 = 1.5 → 2; (0 − 2)·0.75 = −1.5 → −1 (ties up); 1000 → saturates.
    assert_eq!(eval(&op, &[&t(&[3], vec![4i32, 0, 1000])]), t(&[3], vec![102u8, 99, 255]));
    let two = Op::Requantize {
        scale: RequantScale::Float { mults: vec![0.5, 0.25, 1.0] },
        axes: vec![0],
        input_zero_point: 0,
        output_zero_point: 0,
        out_dtype: DType::I8,
    };
    assert!(matches!(err(&two, &[&t(&[2], vec![0i32; 2])]), IrError::Attribute { .. }));
    let per_row = Op::Requantize {
        scale: RequantScale::Float { mults: vec![0.5, 0.25] },
        axes: vec![0],
        input_zero_point: 0,
        output_zero_point: 0,
        out_dtype: DType::I8,
    };
    // rows × 0.5 and × 0.25, half to even: 5 → 2.5 → 2, 10 → 2.5 → 2, 6 → 1.5 → 2.
    assert_eq!(
        eval(&per_row, &[&t(&[2, 2], vec![5i32, 6, 10, 6])]),
        t(&[2, 2], vec![2i8, 3, 2, 2])
    );
}

#[test]
fn core_shape_ops() {
    let x = t(&[2, 3], vec![0i32, 1, 2, 3, 4, 5]);
    let reshape = Op::Reshape { shape: vec![3, 2] };
    assert_eq!(eval(&reshape, &[&x]), t(&[3, 2], vec![0i32, 1, 2, 3, 4, 5]));
    assert!(matches!(err(&Op::Reshape { shape: vec![5] }, &[&x]), IrError::Attribute { .. }));
    let transpose = Op::Transpose { perm: vec![1, 0] };
    assert_eq!(eval(&transpose, &[&x]), t(&[3, 2], vec![0i32, 3, 1, 4, 2, 5]));
    assert!(matches!(err(&Op::Transpose { perm: vec![1, 1] }, &[&x]), IrError::Attribute { .. }));
    let cat = Op::Concatenate { axis: 0 };
    assert_eq!(eval(&cat, &[&x, &t(&[1, 3], vec![6i32, 7, 8])]).shape(), &[3, 3]);
    assert!(matches!(err(&cat, &[&x, &t(&[1, 3], vec![0i16; 3])]), IrError::DType { .. }));
}

#[test]
fn fma_rounds_once_and_broadcasts() {
    // 1/3 is not exact in f32: a separately rounded product differs from the fused one.
    let third = 1.0f32 / 3.0;
    let a = Tensor::from_vec(&[2, 1], vec![3.0f32, 7.0]).unwrap();
    let b = Tensor::from_vec(&[1], vec![third]).unwrap();
    let c = Tensor::from_vec(&[1, 2], vec![-1.0f32, 0.5]).unwrap();
    let want: Vec<f32> =
        [3.0f32, 7.0].iter().flat_map(|&x| [-1.0f32, 0.5].map(|z| x.mul_add(third, z))).collect();
    let y = eval_op(&Op::Fma, &[&a, &b, &c]).unwrap();
    assert_eq!(y, Tensor::from_vec(&[2, 2], want.clone()).unwrap());
    assert_ne!(3.0f32 * third - 1.0, want[0], "the example must separate fused from unfused");
    let i = Tensor::from_vec(&[1], vec![1i32]).unwrap();
    assert!(matches!(eval_op(&Op::Fma, &[&a, &b, &i]), Err(IrError::DType { index: 2, .. })));
    assert!(matches!(eval_op(&Op::Fma, &[&a, &b]), Err(IrError::Arity { .. })));
}

#[test]
fn f32_sum_pool_adds_in_window_order() {
    let pool = Pool2dAttrs {
        kernel: [2, 2],
        strides: [1, 1],
        padding: [0, 0, 1, 1],
        dilation: [1, 1],
        layout: DataLayout::Nchw,
    };
    let op = Op::Pool2d { kind: PoolKind::Sum, pool, pad_value: 0 };
    // 1e8 + 1 − 1e8 in window order is 0 in f32 (1 is lost), not 1.
    let x = Tensor::from_vec(&[1, 1, 2, 2], vec![1e8f32, 1.0, -1e8, 2.0]).unwrap();
    let y = eval_op(&op, &[&x]).unwrap();
    let first = ((0f32 + 1e8) + 1.0) + -1e8 + 2.0;
    assert_eq!(y, Tensor::from_vec(&[1, 1, 2, 2], vec![first, 3.0, -1e8 + 2.0, 2.0]).unwrap());
}
