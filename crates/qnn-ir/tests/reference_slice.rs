//! `slice` on random shapes and windows (steps of either sign, every dtype): each output
//! element is the input element at `start + i · step` on every axis, found here by row-major
//! offset arithmetic, independently of the reference's indexing; windows that read outside
//! the input are errors naming the op.

use proptest::prelude::*;
use qnn_ir::reference::eval_op;
use qnn_ir::{DType, Op, Tensor};

/// One axis: its length, and a window (start, step, size) inside it.
fn axis() -> impl Strategy<Value = (usize, usize, i64, usize)> {
    (1usize..7).prop_flat_map(|dim| {
        (0..dim, prop_oneof![-3i64..0, 1i64..4]).prop_flat_map(move |(start, step)| {
            // The most elements that stay inside the axis from `start` in steps of `step`.
            let room =
                if step > 0 { (dim - 1 - start) as i64 / step } else { start as i64 / -step };
            (Just(dim), Just(start), Just(step), 1..=room as usize + 1)
        })
    })
}

fn tensor(dtype: DType, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let v =
        ndarray::ArrayD::from_shape_vec(shape, (0..n as i64).map(|i| (i * 37 + 11) % 97).collect())
            .unwrap();
    Tensor::from_i64("t", dtype, v).unwrap()
}

proptest! {
    #[test]
    fn slice_reads_start_plus_index_times_step(
        axes in prop::collection::vec(axis(), 1..5),
        dtype in prop_oneof![Just(DType::U8), Just(DType::I8), Just(DType::I32)],
    ) {
        let shape: Vec<usize> = axes.iter().map(|a| a.0).collect();
        let x = tensor(dtype, &shape);
        let (starts, steps, sizes): (Vec<usize>, Vec<i64>, Vec<usize>) =
            (axes.iter().map(|a| a.1).collect(), axes.iter().map(|a| a.2).collect(), axes.iter().map(|a| a.3).collect());
        let y = eval_op(&Op::Slice { starts: starts.clone(), steps: steps.clone(), sizes: sizes.clone() }, &[&x]).unwrap();
        prop_assert_eq!(y.shape(), sizes.as_slice());
        let (xv, yv) = (x.to_f64_vec(), y.to_f64_vec());
        for (flat, &got) in yv.iter().enumerate() {
            // Output index by division, input offset by row-major strides.
            let (mut rest, mut offset, mut stride) = (flat, 0i64, 1i64);
            let mut idx = vec![0usize; shape.len()];
            for a in (0..shape.len()).rev() {
                idx[a] = rest % sizes[a];
                rest /= sizes[a];
            }
            for a in (0..shape.len()).rev() {
                offset += (starts[a] as i64 + idx[a] as i64 * steps[a]) * stride;
                stride *= shape[a] as i64;
            }
            prop_assert_eq!(got, xv[offset as usize]);
        }
        // Float data takes the same path.
        let xf = Tensor::F32(ndarray::ArrayD::from_shape_vec(shape.clone(), xv.iter().map(|&v| v as f32).collect()).unwrap());
        let yf = eval_op(&Op::Slice { starts: starts.clone(), steps: steps.clone(), sizes: sizes.clone() }, &[&xf]).unwrap();
        prop_assert_eq!(yf.to_f64_vec(), yv);
        // One more element along the first axis leaves the input: an error naming the op.
        let mut over = sizes.clone();
        over[0] += (shape[0] as i64 / steps[0].abs()) as usize + 1;
        let e = eval_op(&Op::Slice { starts, steps, sizes: over }, &[&x]).unwrap_err();
        prop_assert!(e.to_string().contains("slice"), "{}", e);
    }
}
