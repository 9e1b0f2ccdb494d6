//! Inference for the QNN dialect.

use crate::dtype::DType;
use crate::error::IrError;
use crate::ops::Op;
use crate::quant::QuantParams;
use crate::tensor::TensorType;

use super::shapes::{
    broadcast_shapes, check_windows_see_data, conv2d_output_type, pool2d_output_shape,
};
use super::{arity, attr_err, dtype_in, rank_is};

const Q8: &[DType] = &[DType::U8, DType::I8];
/// Integer types a quantized tensor may have.
const QINT: &[DType] = &[DType::U8, DType::I8, DType::I16, DType::I32];
/// Output types of requantizing ops.
const QOUT: &[DType] = &[DType::U8, DType::I8, DType::I16, DType::I32];

fn out_dtype(op: &str, d: DType, allowed: &[DType]) -> Result<(), IrError> {
    if allowed.contains(&d) {
        return Ok(());
    }
    Err(attr_err(op, "out_dtype", d, "must be an integer type (u8, i8, i16, i32)"))
}

fn per_tensor(op: &str, what: &str, q: &QuantParams) -> Result<(), IrError> {
    if q.axis.is_some() || q.channels() != 1 {
        return Err(attr_err(
            op,
            what,
            q.axis,
            "must be per tensor (no axis, one scale and zero point)",
        ));
    }
    Ok(())
}

pub(super) fn infer(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let name = op.name();
    match op {
        Op::QnnQuantize { output, out_dtype: od } => {
            arity(name, inputs, 1)?;
            dtype_in(name, 0, inputs[0], &[DType::F32])?;
            out_dtype(name, *od, QOUT)?;
            output.validate(name, "output", *od, Some(&inputs[0].shape))?;
            Ok(TensorType::new(*od, inputs[0].shape.clone()))
        }
        Op::QnnDequantize { input } => {
            arity(name, inputs, 1)?;
            dtype_in(name, 0, inputs[0], QINT)?;
            input.validate(name, "input", inputs[0].dtype, Some(&inputs[0].shape))?;
            Ok(TensorType::new(DType::F32, inputs[0].shape.clone()))
        }
        Op::QnnRequantize { input, output, out_dtype: od, .. } => {
            arity(name, inputs, 1)?;
            dtype_in(name, 0, inputs[0], QINT)?;
            out_dtype(name, *od, QOUT)?;
            let shape = &inputs[0].shape;
            input.validate(name, "input", inputs[0].dtype, Some(shape))?;
            output.validate(name, "output", *od, Some(shape))?;
            if let (Some(a), Some(b)) = (input.axis, output.axis)
                && a != b
                && input.channels() > 1
                && output.channels() > 1
            {
                return Err(attr_err(
                    name,
                    "output.axis",
                    b,
                    &format!(
                        "per-axis input and output parameters must share an axis (input axis {a})"
                    ),
                ));
            }
            Ok(TensorType::new(*od, shape.clone()))
        }
        Op::QnnConv2d { conv, input, kernel } => {
            arity(name, inputs, 2)?;
            dtype_in(name, 0, inputs[0], Q8)?;
            dtype_in(name, 1, inputs[1], Q8)?;
            let out = conv2d_output_type(name, conv, inputs[0], inputs[1])?;
            per_tensor(name, "input", input)?;
            input.validate(name, "input", inputs[0].dtype, None)?;
            if let Some(axis) = kernel.axis {
                let want = conv.kernel_layout.output_axis();
                if axis != want {
                    return Err(attr_err(
                        name,
                        "kernel.axis",
                        axis,
                        &format!(
                            "per-channel kernel parameters must be along the output-channel axis {want} of {}",
                            conv.kernel_layout
                        ),
                    ));
                }
            }
            kernel.validate(name, "kernel", inputs[1].dtype, Some(&inputs[1].shape))?;
            Ok(out)
        }
        Op::QnnConv2dTranspose { conv, input, kernel } => {
            super::transpose::conv_transpose(name, conv, input, kernel, inputs)
        }
        Op::QnnDense { input, kernel } => {
            arity(name, inputs, 2)?;
            dtype_in(name, 0, inputs[0], Q8)?;
            dtype_in(name, 1, inputs[1], Q8)?;
            let out = dense_output(name, inputs[0], inputs[1])?;
            per_tensor(name, "input", input)?;
            input.validate(name, "input", inputs[0].dtype, None)?;
            if let Some(axis) = kernel.axis
                && axis != 0
            {
                return Err(attr_err(
                    name,
                    "kernel.axis",
                    axis,
                    "per-channel kernel parameters must be along axis 0 (units) of the [N, K] kernel",
                ));
            }
            kernel.validate(name, "kernel", inputs[1].dtype, Some(&inputs[1].shape))?;
            Ok(out)
        }
        Op::QnnAdd { lhs, rhs, output, out_dtype: od, .. }
        | Op::QnnMul { lhs, rhs, output, out_dtype: od, .. } => {
            arity(name, inputs, 2)?;
            dtype_in(name, 0, inputs[0], Q8)?;
            dtype_in(name, 1, inputs[1], Q8)?;
            out_dtype(name, *od, Q8)?;
            let shape = broadcast_shapes(name, &inputs[0].shape, &inputs[1].shape)?;
            per_tensor(name, "lhs", lhs)?;
            per_tensor(name, "rhs", rhs)?;
            per_tensor(name, "output", output)?;
            lhs.validate(name, "lhs", inputs[0].dtype, None)?;
            rhs.validate(name, "rhs", inputs[1].dtype, None)?;
            output.validate(name, "output", *od, None)?;
            Ok(TensorType::new(*od, shape))
        }
        Op::QnnConcatenate { inputs: qs, output, axis, out_dtype: od, .. } => {
            if inputs.is_empty() || inputs.len() != qs.len() {
                return Err(IrError::Arity {
                    op: name.into(),
                    expected: format!(
                        "{} (one per entry of `inputs`, at least 1)",
                        qs.len().max(1)
                    ),
                    got: inputs.len(),
                });
            }
            out_dtype(name, *od, Q8)?;
            for (i, (t, q)) in inputs.iter().zip(qs).enumerate() {
                dtype_in(name, i, t, Q8)?;
                per_tensor(name, &format!("inputs[{i}]"), q)?;
                q.validate(name, &format!("inputs[{i}]"), t.dtype, None)?;
            }
            per_tensor(name, "output", output)?;
            output.validate(name, "output", *od, None)?;
            let shape = concat_shape(name, inputs, *axis)?;
            Ok(TensorType::new(*od, shape))
        }
        Op::QnnAvgPool2d { pool, count_include_pad, input, output, out_dtype: od, .. } => {
            arity(name, inputs, 1)?;
            dtype_in(name, 0, inputs[0], Q8)?;
            out_dtype(name, *od, Q8)?;
            let shape = pool2d_output_shape(name, pool, inputs[0])?;
            if !count_include_pad {
                check_windows_see_data(name, pool, inputs[0], &shape)?;
            }
            per_tensor(name, "input", input)?;
            per_tensor(name, "output", output)?;
            input.validate(name, "input", inputs[0].dtype, None)?;
            output.validate(name, "output", *od, None)?;
            Ok(TensorType::new(*od, shape))
        }
        Op::QnnGlobalAvgPool2d { layout, input, output, out_dtype: od, .. } => {
            arity(name, inputs, 1)?;
            dtype_in(name, 0, inputs[0], Q8)?;
            rank_is(name, 0, inputs[0], 4)?;
            out_dtype(name, *od, Q8)?;
            per_tensor(name, "input", input)?;
            per_tensor(name, "output", output)?;
            input.validate(name, "input", inputs[0].dtype, None)?;
            output.validate(name, "output", *od, None)?;
            let [n, c, h, w] = layout.nchw(&inputs[0].shape);
            if h == 0 || w == 0 {
                return Err(IrError::Shape {
                    op: name.into(),
                    msg: format!("empty window {h}×{w}"),
                });
            }
            Ok(TensorType::new(*od, layout.shape(n, c, 1, 1)))
        }
        Op::QnnMaxPool2d { pool } => {
            arity(name, inputs, 1)?;
            dtype_in(name, 0, inputs[0], Q8)?;
            let shape = pool2d_output_shape(name, pool, inputs[0])?;
            check_windows_see_data(name, pool, inputs[0], &shape)?;
            Ok(TensorType::new(inputs[0].dtype, shape))
        }
        Op::QnnClip { min, max, q } => {
            arity(name, inputs, 1)?;
            dtype_in(name, 0, inputs[0], Q8)?;
            if min.is_nan() || max.is_nan() || min > max {
                return Err(attr_err(
                    name,
                    "min/max",
                    (min, max),
                    "bounds must be numbers with min ≤ max",
                ));
            }
            per_tensor(name, "q", q)?;
            q.validate(name, "q", inputs[0].dtype, None)?;
            Ok(inputs[0].clone())
        }
        Op::QnnRelu { q } => {
            arity(name, inputs, 1)?;
            dtype_in(name, 0, inputs[0], Q8)?;
            per_tensor(name, "q", q)?;
            q.validate(name, "q", inputs[0].dtype, None)?;
            Ok(inputs[0].clone())
        }
        _ => unreachable!("qnn::infer is only called for QNN ops"),
    }
}

/// `[.., K] × [N, K] → [.., N]` (dense and qnn.dense).
pub(super) fn dense_output(
    op: &str,
    data: &TensorType,
    kernel: &TensorType,
) -> Result<TensorType, IrError> {
    if data.rank() == 0 {
        return Err(IrError::Shape {
            op: op.into(),
            msg: "data must have rank ≥ 1 ([.., K])".into(),
        });
    }
    rank_is(op, 1, kernel, 2)?;
    let k = data.shape[data.rank() - 1];
    if kernel.shape[1] != k {
        return Err(IrError::Shape {
            op: op.into(),
            msg: format!(
                "data {:?} has K = {k} but the kernel {:?} ([N, K]) has K = {}",
                data.shape, kernel.shape, kernel.shape[1]
            ),
        });
    }
    let mut shape = data.shape.clone();
    *shape.last_mut().expect("rank ≥ 1") = kernel.shape[0];
    Ok(TensorType::new(DType::I32, shape))
}

/// Shape of a concatenation along `axis`: equal ranks, equal dims except `axis`.
pub(super) fn concat_shape(
    op: &str,
    inputs: &[&TensorType],
    axis: usize,
) -> Result<Vec<usize>, IrError> {
    let first = &inputs[0].shape;
    if axis >= first.len() {
        return Err(attr_err(op, "axis", axis, &format!("outside rank {}", first.len())));
    }
    let mut shape = first.clone();
    shape[axis] = 0;
    for (i, t) in inputs.iter().enumerate() {
        let same_rank = t.shape.len() == first.len();
        let same_dims = same_rank
            && t.shape.iter().zip(first).enumerate().all(|(d, (a, b))| d == axis || a == b);
        if !same_dims {
            return Err(IrError::Shape {
                op: op.into(),
                msg: format!(
                    "input {i} has shape {:?}, which does not match input 0 {:?} outside axis {axis}",
                    t.shape, first
                ),
            });
        }
        shape[axis] = shape[axis].checked_add(t.shape[axis]).ok_or_else(|| IrError::Shape {
            op: op.into(),
            msg: format!("concatenated size along axis {axis} overflows"),
        })?;
    }
    Ok(shape)
}
