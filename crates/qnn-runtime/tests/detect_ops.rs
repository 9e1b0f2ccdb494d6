//! The detection / segmentation op cases of qnn-onnx (`fixtures/ops`: `Resize` in every mode
//! ONNX Runtime runs on 8-bit data, QOperator and QDQ forms; `ConvTranspose` and the U-Net
//! `convt_*` cases), compiled by the runtime for the host and for every usable backend, at 1
//! and 2 threads: each output must equal ONNX Runtime's bit for bit (qnn-onnx's `op_cases`
//! checks the same on the reference).

mod common;

use common::op_fixtures::{assert_compiled_cases_equal_onnx_runtime, fixtures, same_bits};
use qnn_ir::Tensor;
use qnn_onnx::{ImportOptions, Model};
use qnn_runtime::{CompileOptions, Compiler};

#[test]
#[cfg_attr(miri, ignore = "compiles a corpus of models")]
fn op_cases_compiled_equal_onnx_runtime() {
    assert_compiled_cases_equal_onnx_runtime("ops", 150);
}

/// The YOLO-style fixture's `Resize` (nearest ×2 between a conv and a Concat) runs as the
/// runtime's copy, in NHWC like the convs around it: no layout conversion for it.
#[test]
#[cfg_attr(miri, ignore = "compiles a model")]
fn yolo_resize_is_an_nhwc_copy() {
    let model = Model::from_path(fixtures("ops/yolo_tiny_qdq/model.onnx")).unwrap();
    let graph = model.import(&ImportOptions::default()).unwrap().graph;
    let compiled = Compiler::new(CompileOptions::new().threads(2)).compile(&graph).unwrap();
    let steps = &compiled.report().steps;
    let resize: Vec<_> = steps.iter().filter(|s| s.op == "resize").collect();
    assert_eq!(resize.len(), 1, "{steps:#?}");
    assert_eq!(resize[0].exec, qnn_runtime::Exec::Fast, "{:?}", resize[0]);
    assert!(resize[0].output.ends_with(" NHWC"), "{:?}", resize[0]);
    let transposes = steps.iter().filter(|s| s.op.contains("transpose")).count();
    assert!(transposes <= 3, "one conversion at the input, one per output: {steps:#?}");
}

/// A nearest resize large enough to be split over threads (outputs ≥ 64 KiB), in several
/// modes, equals the reference at 1, 2 and 3 threads.
#[test]
#[cfg_attr(miri, ignore = "large tensors")]
fn threaded_nearest_resize_equals_the_reference() {
    use qnn_ir::{CoordinateMode, DType, GraphBuilder, NearestMode, Op, ResizeAttrs, ResizeMode};
    let input = [2usize, 16, 37, 41];
    let cases = [
        (CoordinateMode::Asymmetric, NearestMode::Floor, [2.0f32, 2.0], vec![]),
        (CoordinateMode::HalfPixel, NearestMode::RoundPreferFloor, [1.7, 2.3], vec![]),
        (CoordinateMode::AlignCorners, NearestMode::Ceil, [2.5, 0.6], vec![]),
        (
            CoordinateMode::TfCropAndResize,
            NearestMode::RoundPreferCeil,
            [2.0, 2.0],
            vec![0.0, 0.0, -0.2, 0.1, 1.0, 1.0, 0.9, 1.3],
        ),
    ];
    let n: usize = input.iter().product();
    let data: Vec<u8> = (0..n).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect();
    let x = Tensor::U8(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&input), data).unwrap());
    for (coordinate, nearest, [sh, sw], roi) in cases {
        let scales = vec![1.0, 1.0, sh, sw];
        let sizes: Vec<usize> =
            input.iter().zip(&scales).map(|(&d, &s)| (s * d as f32) as usize).collect();
        let resize = ResizeAttrs {
            mode: ResizeMode::Nearest,
            coordinate,
            nearest,
            sizes,
            scales,
            roi,
            axes: vec![],
            cubic_coeff_a: -0.75,
            exclude_outside: false,
            extrapolation_value: 9.0,
        };
        let mut b = GraphBuilder::new("resize");
        let v = b.input("x", qnn_ir::TensorType::new(DType::U8, input.to_vec())).unwrap();
        let y = b.node("resize", Op::Resize { resize }, &[v]).unwrap();
        b.output(y);
        let g = b.finish().unwrap();
        let want = qnn_ir::reference::run(&g, std::slice::from_ref(&x)).unwrap();
        for threads in [1, 2, 3] {
            let m = Compiler::new(CompileOptions::new().threads(threads)).compile(&g).unwrap();
            let step = m.report().steps.iter().find(|s| s.op == "resize").unwrap();
            assert_eq!(step.exec, qnn_runtime::Exec::Fast, "{coordinate}: {step:?}");
            let got = m.run(std::slice::from_ref(&x)).unwrap();
            assert!(same_bits(&want[0], &got[0]), "{coordinate} × {threads} threads differs");
        }
    }
}
