//! `slice` (ONNX Slice / Split / Pad's reflections) runs as the runtime's gather of byte
//! runs: on random shapes, windows and steps of either sign, for 1-, 2- and 4-byte elements,
//! its output equals the reference's bit for bit, at 1 and 3 threads, and the plan report
//! says the fast form ran.

use proptest::prelude::*;
use qnn_ir::{DType, GraphBuilder, Op, Tensor, TensorType};
use qnn_runtime::{CompileOptions, Compiler};

/// One axis: its length, and a window (start, step, size) inside it.
fn axis() -> impl Strategy<Value = (usize, usize, i64, usize)> {
    (1usize..6).prop_flat_map(|dim| {
        (0..dim, prop_oneof![-3i64..0, 1i64..4]).prop_flat_map(move |(start, step)| {
            let room =
                if step > 0 { (dim - 1 - start) as i64 / step } else { start as i64 / -step };
            (Just(dim), Just(start), Just(step), 1..=room as usize + 1)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn slice_copy_equals_the_reference(
        axes in prop::collection::vec(axis(), 1..5),
        dtype in prop_oneof![Just(DType::U8), Just(DType::I8), Just(DType::I16), Just(DType::F32)],
    ) {
        let shape: Vec<usize> = axes.iter().map(|a| a.0).collect();
        let n: usize = shape.iter().product();
        let ints = ndarray::ArrayD::from_shape_vec(shape.clone(), (0..n as i64).map(|i| (i * 29 + 3) % 113).collect()).unwrap();
        let x = if dtype == DType::F32 {
            Tensor::F32(ints.mapv(|v| v as f32 * 0.5))
        } else {
            Tensor::from_i64("x", dtype, ints).unwrap()
        };
        let op = Op::Slice {
            starts: axes.iter().map(|a| a.1).collect(),
            steps: axes.iter().map(|a| a.2).collect(),
            sizes: axes.iter().map(|a| a.3).collect(),
        };
        let mut b = GraphBuilder::new("slice");
        let v = b.input("x", TensorType::new(dtype, shape.clone())).unwrap();
        let y = b.node("cut", op, &[v]).unwrap();
        b.output(y);
        let g = b.finish().unwrap();
        let want = qnn_ir::reference::run(&g, std::slice::from_ref(&x)).unwrap();
        for threads in [1, 3] {
            let m = Compiler::new(CompileOptions::new().threads(threads)).compile(&g).unwrap();
            let step = m.report().steps.iter().find(|s| s.op == "slice").unwrap();
            prop_assert_eq!(step.exec, qnn_runtime::Exec::Fast, "{:?}", step);
            let got = m.run(std::slice::from_ref(&x)).unwrap();
            prop_assert_eq!(&want[0], &got[0]);
        }
    }
}
