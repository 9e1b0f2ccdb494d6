//! Bad options and bad inputs give clear errors, never panics or wrong answers.

mod common;

use common::nets::{small_convnet, small_convnet_input};
use common::{tensor, values};
use qnn_ir::{DType, GraphBuilder, Op, QuantParams, Tensor, TensorType, reference};
use qnn_runtime::{CompileOptions, Compiler, RuntimeError, registered_backends};

#[test]
fn an_unknown_backend_lists_the_registered_ones() {
    let e = Compiler::new(CompileOptions::new().backend(Some("x86-avx9")))
        .compile(&small_convnet())
        .unwrap_err();
    assert!(matches!(&e, RuntimeError::UnknownBackend { name, .. } if name == "x86-avx9"), "{e}");
    let msg = e.to_string();
    for b in registered_backends() {
        assert!(msg.contains(b), "{msg}");
    }
    // The same through QNN_BACKEND.
    let opts = CompileOptions::from_env_with(|k| (k == "QNN_BACKEND").then(|| "nope".into()));
    assert_eq!(opts.backend.as_deref(), Some("nope"));
    let e = Compiler::new(opts).compile(&small_convnet()).unwrap_err();
    assert!(e.to_string().contains("unknown backend `nope`"), "{e}");
    // An empty QNN_BACKEND means unset; the API option overrides the environment.
    let opts = CompileOptions::from_env_with(|_| Some(" ".into()));
    assert_eq!(opts.backend, None);
    let opts = CompileOptions::from_env_with(|_| Some("nope".into())).backend(None);
    assert!(Compiler::new(opts).compile(&small_convnet()).is_ok());
}

#[test]
fn a_backend_that_cannot_run_here_is_refused_for_the_host() {
    for d in qnn_ir::backend::registry::backends() {
        if let Err(why) = d.probe() {
            let e = Compiler::new(CompileOptions::new().backend(Some(d.name)))
                .compile(&small_convnet())
                .unwrap_err();
            assert_eq!(e, RuntimeError::BackendUnavailable { name: d.name.into(), why });
        }
    }
}

#[test]
fn bad_inputs_are_named() {
    let m = Compiler::new(CompileOptions::new().threads(1)).compile(&small_convnet()).unwrap();
    let x = small_convnet_input(1);
    let e = m.run(&[]).unwrap_err();
    assert!(matches!(e, RuntimeError::InputCount { expected: 1, got: 0, .. }), "{e}");
    assert!(e.to_string().contains("`x`") || e.to_string().contains("(x)"), "{e}");
    let e = m.run(&[x.clone(), x.clone()]).unwrap_err();
    assert!(matches!(e, RuntimeError::InputCount { got: 2, .. }), "{e}");
    let wrong_dtype = tensor(DType::U8, &[1, 3, 16, 16], vec![0; 768]);
    let e = m.run(&[wrong_dtype]).unwrap_err();
    assert_eq!(
        e,
        RuntimeError::InputDType {
            index: 0,
            name: "x".into(),
            expected: DType::F32,
            got: DType::U8
        }
    );
    assert!(e.to_string().contains("input 0 `x`: expected dtype f32, got u8"), "{e}");
    let wrong_shape = Tensor::from_vec(&[1, 3, 16, 15], vec![0f32; 720]).unwrap();
    let e = m.run(&[wrong_shape]).unwrap_err();
    assert!(matches!(&e, RuntimeError::InputShape { got, .. } if got == &[1, 3, 16, 15]), "{e}");
    assert!(e.to_string().contains("[1, 3, 16, 16]"), "{e}");
    // The model still runs after refusing bad inputs.
    assert_eq!(
        m.run(std::slice::from_ref(&x)).unwrap(),
        reference::run(&small_convnet(), &[x]).unwrap()
    );
}

#[test]
fn compile_lowered_takes_core_ops_only() {
    let e = Compiler::new(CompileOptions::new()).compile_lowered(&small_convnet()).unwrap_err();
    assert!(matches!(&e, RuntimeError::NotLowered { node, .. } if node == "quant"), "{e}");
}

/// A conv whose weights are a graph input (computed at run time) over `c` input channels.
fn conv_with_weights_as_input(c: usize) -> qnn_ir::Graph {
    let mut b = GraphBuilder::new("g");
    let x = b.input("x", TensorType::new(DType::U8, [1, c, 2, 2])).unwrap();
    let w = b.input("w", TensorType::new(DType::I8, [2, c, 1, 1])).unwrap();
    let (input, kernel) = (QuantParams::per_tensor(0.1, 3), QuantParams::per_tensor(0.1, -128));
    let op = Op::QnnConv2d { conv: Default::default(), input, kernel };
    let y = b.node("conv", op, &[x, w]).unwrap();
    b.output(y);
    b.finish().unwrap()
}

#[test]
fn legalization_errors_pass_through() {
    // Weights computed at run time over a reduction whose sum may leave i32 (252 · 255 per
    // product, 33,500 of them).
    let e = Compiler::new(CompileOptions::new())
        .compile(&conv_with_weights_as_input(33_500))
        .unwrap_err();
    assert!(matches!(e, RuntimeError::Legalize(_)), "{e}");
    assert!(e.to_string().contains("conv") && e.to_string().contains("i32"), "{e}");
}

#[test]
fn weights_computed_at_run_time_compile_and_equal_the_reference() {
    let g = conv_with_weights_as_input(5);
    let x = Tensor::from_i64(
        "x",
        DType::U8,
        ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[1, 5, 2, 2]), |i| {
            (i[1] * 53 + i[2] * 7 + i[3] * 250) as i64 % 256
        }),
    )
    .unwrap();
    let w = Tensor::from_i64(
        "w",
        DType::I8,
        ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[2, 5, 1, 1]), |i| {
            (i[0] * 97 + i[1] * 61) as i64 % 256 - 128
        }),
    )
    .unwrap();
    let inputs = [x, w];
    let want = qnn_ir::reference::run(&g, &inputs).unwrap();
    let m = Compiler::new(CompileOptions::new()).compile(&g).unwrap();
    assert_eq!(m.run(&inputs).unwrap(), want);
    let explanation = m.report().legalization.as_ref().unwrap().to_string();
    assert!(explanation.contains("weights computed at run time"), "{explanation}");
}

#[test]
fn run_time_overflow_is_reported_like_the_reference() {
    // An i16 add that overflows for some inputs: the reference refuses, so must the model.
    let mut b = GraphBuilder::new("g");
    let x = b.input("x", TensorType::new(DType::I16, [4])).unwrap();
    let c = b.constant("c", tensor(DType::I16, &[1], vec![30000])).unwrap();
    let y = b.node("sum", Op::Add, &[x, c]).unwrap();
    b.output(y);
    let g = b.finish().unwrap();
    let m = Compiler::new(CompileOptions::new()).compile_lowered(&g).unwrap();
    let ok = tensor(DType::I16, &[4], vec![1, 2, -3, 2767]);
    assert_eq!(m.run(std::slice::from_ref(&ok)).unwrap(), reference::run(&g, &[ok]).unwrap());
    let bad = tensor(DType::I16, &[4], values(4, 1, 2768, 32767));
    assert!(reference::run(&g, std::slice::from_ref(&bad)).is_err());
    let e = m.run(&[bad]).unwrap_err();
    assert!(
        matches!(&e, RuntimeError::ValueOutOfRange { op, dtype: DType::I16, .. } if op.contains("sum")),
        "{e}"
    );
}
