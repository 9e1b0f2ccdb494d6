//! Float `GlobalAveragePool`, as quantize_static's QOperator form leaves it after a float op
//! (`DequantizeLinear → HardSwish → GlobalAveragePool → QuantizeLinear` in MobileNetV3's
//! squeeze-excite blocks), composed of core ops to sum in MLAS's order
//! (`MlasPoolGlobalKernel`, checked bit for bit against ORT 1.32):
//! over the `n` spatial cells of a channel, four lanes accumulate cells `4i + l` of the first
//! `4⌊n/4⌋` from +0, the lanes combine as `(l0 + l2) + (l1 + l3)`, the remaining cells are
//! added in order, and the sum is divided by `f32(n)`.

use qnn_ir::{Op, Tensor};

use super::context::Importer;
use super::node::{Form, Node};
use crate::error::OnnxError;

pub(super) fn import(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(1, 1, 1)?;
    let x = im.value(n, 0)?;
    let (shape, dtype) = (im.ty(x).shape, im.ty(x).dtype);
    if dtype != qnn_ir::DType::F32 {
        return Err(n.input_error(0, format!("element type {dtype}: a float GlobalAveragePool takes f32 (quantized data needs its QDQ or QLinear form)")));
    }
    if shape.len() < 3 {
        return Err(n.input_error(0, format!("shape {shape:?}: expected N, C and spatial axes")));
    }
    let (nc, cells) = ([shape[0], shape[1]], shape[2..].iter().product::<usize>());
    if cells == 0 {
        return Err(n.input_error(0, format!("shape {shape:?} has no spatial cells")));
    }
    let out = n.output(0)?;
    let name = |part: &str| format!("{out}/{part}");
    let [b, c] = nc;
    let flat = im.emit(n, &name("cells"), Op::Reshape { shape: vec![b, c, cells] }, &[x])?;
    let (quads, tail) = (cells / 4, cells % 4);
    let sum_last = |keepdims| Op::Sum { axes: vec![2], keepdims };
    let total = if quads == 0 {
        im.emit(n, &name("sum"), sum_last(false), &[flat])?
    } else {
        let body = if tail == 0 {
            flat
        } else {
            let sizes = vec![b, c, 4 * quads];
            im.emit(n, &name("body"), slice(vec![0, 0, 0], sizes), &[flat])?
        };
        let lanes4 =
            im.emit(n, &name("quads"), Op::Reshape { shape: vec![b, c, quads, 4] }, &[body])?;
        let lanes =
            im.emit(n, &name("lanes"), Op::Sum { axes: vec![2], keepdims: false }, &[lanes4])?;
        // (l0 + l2), (l1 + l3): the lanes as a 2 × 2 block summed down its rows.
        let block =
            im.emit(n, &name("lane_pairs"), Op::Reshape { shape: vec![b, c, 2, 2] }, &[lanes])?;
        let pairs =
            im.emit(n, &name("pairs"), Op::Sum { axes: vec![2], keepdims: false }, &[block])?;
        if tail == 0 {
            im.emit(n, &name("sum"), sum_last(false), &[pairs])?
        } else {
            let reduced = im.emit(n, &name("reduced"), sum_last(true), &[pairs])?;
            let rest = slice(vec![0, 0, 4 * quads], vec![b, c, tail]);
            let rest = im.emit(n, &name("tail"), rest, &[flat])?;
            // A sum from +0 is never −0, so `0 + reduced` is `reduced` and the tail follows
            // in order.
            let joined =
                im.emit(n, &name("joined"), Op::Concatenate { axis: 2 }, &[reduced, rest])?;
            im.emit(n, &name("sum"), sum_last(false), &[joined])?
        }
    };
    let count = Tensor::F32(ndarray::arr0(cells as f32).into_dyn());
    let count = im.emit_const(n, &name("count"), count)?;
    let mean = im.emit(n, &name("mean"), Op::Divide, &[total, count])?;
    let mut out_shape = vec![b, c];
    out_shape.resize(shape.len(), 1);
    let y = im.emit(n, out, Op::Reshape { shape: out_shape }, &[mean])?;
    im.bind(out, y);
    Ok(Form::Float)
}

fn slice(starts: Vec<usize>, sizes: Vec<usize>) -> Op {
    Op::Slice { steps: vec![1; starts.len()], starts, sizes }
}
