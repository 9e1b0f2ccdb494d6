//! qnn.conv2d_transpose and dilate: the reference on hand-computed cases, inference errors
//! naming the attribute, and the text form round trip.

use qnn_ir::*;

fn t(dtype: DType, shape: &[usize], v: Vec<i64>) -> Tensor {
    Tensor::from_i64("t", dtype, ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).unwrap())
        .unwrap()
}

fn convt(attrs: ConvTranspose2dAttrs, a: i32, kernel: QuantParams, x: Tensor, w: Tensor) -> Graph {
    let mut b = GraphBuilder::new("g");
    let xv = b.input("x", x.ty()).unwrap();
    let wv = b.constant("w", w).unwrap();
    let op = Op::QnnConv2dTranspose { conv: attrs, input: QuantParams::per_tensor(0.5, a), kernel };
    let y = b.node("y", op, &[xv, wv]).unwrap();
    b.output(y);
    b.finish().unwrap()
}

fn run(g: &Graph, x: Tensor) -> Vec<i64> {
    reference::run(g, &[x]).unwrap()[0].to_i64().unwrap().iter().copied().collect()
}

/// Stride 2, 2×2 kernel, one channel: every input pixel paints its own 2×2 block.
#[test]
fn stride_2_paints_blocks() {
    let attrs = ConvTranspose2dAttrs { strides: [2, 2], ..Default::default() };
    let x = t(DType::U8, &[1, 1, 2, 2], vec![11, 12, 13, 14]);
    let w = t(DType::I8, &[1, 1, 2, 2], vec![1, 2, 3, 4]);
    let g = convt(attrs, 10, QuantParams::per_tensor(0.1, 0), x.clone(), w);
    #[rustfmt::skip]
    let want = vec![
        1, 2, 2, 4,
        3, 4, 6, 8,
        3, 6, 4, 8,
        9, 12, 12, 16,
    ];
    assert_eq!(run(&g, x), want);
}

/// Stride 1, 3-wide kernel, padding 1 on each side, output padding absent: overlapping
/// contributions sum; per-channel kernel zero points over two groups of one channel.
#[test]
fn overlaps_sum_and_groups_use_their_own_zero_points() {
    let attrs = ConvTranspose2dAttrs { padding: [0, 1, 0, 1], groups: 2, ..Default::default() };
    let x = t(DType::I8, &[1, 2, 1, 3], vec![1, 2, 3, -1, 0, 1]);
    let w = t(DType::I8, &[2, 1, 1, 3], vec![1, 1, 1, 5, 6, 7]);
    let kernel = QuantParams::per_axis(vec![0.1, 0.1], vec![0, 5], 0);
    let g = convt(attrs, 0, kernel, x.clone(), w);
    // Group 0: [1, 2, 3] spread by [1, 1, 1], columns 0..5 cropped to 1..4.
    // Group 1: weights − 5 = [0, 1, 2]; x = [−1, 0, 1].
    assert_eq!(run(&g, x), vec![3, 6, 5, -1, -2, 1]);
}

#[test]
fn dilate_inserts_the_value_and_crops() {
    let d = DilateAttrs { strides: [2, 3], crop: [1, 0, 0, 2], value: 7, layout: DataLayout::Nchw };
    let mut b = GraphBuilder::new("g");
    let x = t(DType::U8, &[1, 1, 2, 2], vec![1, 2, 3, 4]);
    let xv = b.input("x", x.ty()).unwrap();
    let y = b.node("y", Op::Dilate { dilate: d }, &[xv]).unwrap();
    b.output(y);
    let g = b.finish().unwrap();
    assert_eq!(g.ty(y).shape, vec![1, 1, 2, 2]);
    // Full: rows [1 7 7 2; 7 7 7 7; 3 7 7 4]; crop the top row and the two right columns.
    assert_eq!(run(&g, x), vec![7, 7, 3, 7]);
}

#[test]
fn inference_names_the_bad_attribute() {
    let x = TensorType::new(DType::U8, vec![1, 4, 3, 3]);
    let w = TensorType::new(DType::I8, vec![4, 2, 3, 3]);
    let q = QuantParams::per_tensor(0.1, 0);
    let op = |conv: ConvTranspose2dAttrs, kernel: QuantParams| Op::QnnConv2dTranspose {
        conv,
        input: q.clone(),
        kernel,
    };
    let ok = op(ConvTranspose2dAttrs { strides: [2, 2], ..Default::default() }, q.clone());
    assert_eq!(infer_type(&ok, &[&x, &w]).unwrap().shape, vec![1, 2, 7, 7]);
    let bad = [
        (ConvTranspose2dAttrs { output_padding: [1, 0], ..Default::default() }, "output_padding"),
        (ConvTranspose2dAttrs { groups: 3, ..Default::default() }, "groups"),
        (ConvTranspose2dAttrs { strides: [0, 1], ..Default::default() }, "strides"),
        (ConvTranspose2dAttrs { padding: [3, 0, 2, 0], ..Default::default() }, "leave no output"),
    ];
    for (conv, says) in bad {
        let e = infer_type(&op(conv, q.clone()), &[&x, &w]).unwrap_err().to_string();
        assert!(e.contains(says) && e.contains("qnn.conv2d_transpose"), "{e}");
    }
    // Per-channel parameters: one per output channel (groups × M/G), along axis 0.
    let four = QuantParams::per_axis(vec![0.1; 4], vec![0; 4], 0);
    let grouped = ConvTranspose2dAttrs { groups: 2, ..Default::default() };
    assert_eq!(infer_type(&op(grouped.clone(), four), &[&x, &w]).unwrap().shape[1], 4);
    let e = infer_type(&op(grouped, QuantParams::per_axis(vec![0.1; 2], vec![0; 2], 1)), &[&x, &w])
        .unwrap_err()
        .to_string();
    assert!(e.contains("kernel.axis"), "{e}");
}

#[test]
fn text_form_round_trips() {
    let attrs = ConvTranspose2dAttrs {
        strides: [2, 3],
        padding: [1, 0, 2, 1],
        output_padding: [1, 2],
        dilation: [1, 2],
        groups: 1,
    };
    let x = t(DType::U8, &[1, 2, 3, 3], vec![1; 18]);
    let w = t(DType::I8, &[2, 3, 2, 2], vec![2; 24]);
    let g = convt(attrs, 3, QuantParams::per_axis(vec![0.1, 0.2, 0.3], vec![0, 1, -1], 0), x, w);
    let mut b = GraphBuilder::new("d");
    let xv = b.input("x", TensorType::new(DType::I8, vec![1, 3, 4, 2])).unwrap();
    let d =
        DilateAttrs { strides: [2, 2], crop: [0, 1, 1, 0], value: -3, layout: DataLayout::Nhwc };
    let y = b.node("y", Op::Dilate { dilate: d }, &[xv]).unwrap();
    b.output(y);
    for g in [g, b.finish().unwrap()] {
        let text = text::print(&g);
        assert_eq!(text::parse(&text).unwrap(), g, "{text}");
    }
}
