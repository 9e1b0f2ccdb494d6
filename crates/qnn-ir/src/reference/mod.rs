//! The reference semantics: a scalar interpreter for every op and any graph.
//!
//! This is the oracle every lowering, kernel and fusion is compared against, so it is written
//! for obviousness, not speed: integer results are computed exactly in `i64` (products in
//! `i128` where they could leave it) and never wrap; the only saturation is the clamp an op
//! defines (requantize, quantize, cast, clip). ARCHITECTURE.md §4 is the normative math; each
//! kernel's doc comment says which formula it implements.
//!
//! [`eval_op`] first runs type inference, which validates shapes, dtypes, quantization
//! parameters and attributes, so the kernels below can assume a well-formed op; they still
//! report (rather than panic on) anything inconsistent they meet.

mod conv;
mod conv_transpose;
mod dense;
mod elementwise;
mod matmul;
mod pool;
mod qnn_ops;
mod requantize;
pub(crate) mod resize;
mod shape_ops;
mod slice;
mod support;

pub(crate) use slice::check as check_slice;

use std::collections::BTreeMap;
use std::sync::Arc;

use elementwise::Binary;

use crate::error::IrError;
use crate::graph::{Graph, ValueDef};
use crate::infer::infer_type;
use crate::ops::Op;
use crate::tensor::{Tensor, TensorType};

/// Applies `op` to `inputs`: inference first (every check of the op), then the reference
/// kernel, whose result must have the inferred type.
pub fn eval_op(op: &Op, inputs: &[&Tensor]) -> Result<Tensor, IrError> {
    let types: Vec<TensorType> = inputs.iter().map(|t| t.ty()).collect();
    let type_refs: Vec<&TensorType> = types.iter().collect();
    let expected = infer_type(op, &type_refs)?;
    let out = compute(op, inputs)?;
    if out.ty() != expected {
        return Err(IrError::TypeMismatch {
            name: "reference result".into(),
            op: op.name().into(),
            declared: expected.to_string(),
            inferred: out.ty().to_string(),
        });
    }
    Ok(out)
}

/// Runs `graph` on `inputs` (one per graph input, in order) and returns its outputs.
pub fn run(graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, IrError> {
    let values = evaluate(graph, inputs)?;
    Ok(graph.outputs.iter().map(|o| Arc::unwrap_or_clone(values[o.index()].clone())).collect())
}

/// Runs `graph` and returns every value (inputs, constants, node outputs), indexed by
/// [`ValueId`](crate::ValueId): for inspecting a lowering step by step.
pub fn run_all(graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, IrError> {
    Ok(evaluate(graph, inputs)?.into_iter().map(Arc::unwrap_or_clone).collect())
}

/// Runs `graph` and returns every value by name.
pub fn run_named(graph: &Graph, inputs: &[Tensor]) -> Result<BTreeMap<String, Tensor>, IrError> {
    let values = run_all(graph, inputs)?;
    Ok(graph.values.iter().map(|v| v.name.clone()).zip(values).collect())
}

fn evaluate(graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Arc<Tensor>>, IrError> {
    graph.verify()?;
    if inputs.len() != graph.inputs.len() {
        let names: Vec<&str> = graph.inputs.iter().map(|&i| graph.value(i).name.as_str()).collect();
        return Err(IrError::Input {
            name: names.join(", "),
            msg: format!(
                "graph `{}` takes {} input(s), got {}",
                graph.name,
                graph.inputs.len(),
                inputs.len()
            ),
        });
    }
    let mut values: Vec<Option<Arc<Tensor>>> = vec![None; graph.values.len()];
    for (&id, t) in graph.inputs.iter().zip(inputs) {
        let value = graph.value(id);
        if t.ty() != value.ty {
            return Err(IrError::Input {
                name: value.name.clone(),
                msg: format!("expected {}, got {}", value.ty, t.ty()),
            });
        }
        values[id.index()] = Some(Arc::new(t.clone()));
    }
    for (slot, value) in values.iter_mut().zip(&graph.values) {
        if let ValueDef::Const(t) = &value.def {
            *slot = Some(t.clone());
        }
    }
    for node in &graph.nodes {
        // `verify` guarantees every input is defined before the node.
        let args = node
            .inputs
            .iter()
            .map(|v| {
                values[v.index()].as_deref().ok_or_else(|| IrError::Undefined {
                    node: node.name.clone(),
                    value: format!("`{}`", graph.value(*v).name),
                })
            })
            .collect::<Result<Vec<&Tensor>, _>>()?;
        let out = eval_op(&node.op, &args).map_err(|e| e.in_node(&node.name))?;
        values[node.output.index()] = Some(Arc::new(out));
    }
    values
        .into_iter()
        .zip(&graph.values)
        .map(|(v, value)| {
            v.ok_or_else(|| IrError::Graph {
                msg: format!("value `{}` is never computed", value.name),
            })
        })
        .collect()
}

/// The reference kernel of `op` (inputs already validated by inference).
fn compute(op: &Op, inputs: &[&Tensor]) -> Result<Tensor, IrError> {
    let name = op.name();
    let arg = |i: usize| -> Result<&Tensor, IrError> {
        inputs.get(i).copied().ok_or_else(|| IrError::Arity {
            op: name.into(),
            expected: format!("at least {}", i + 1),
            got: inputs.len(),
        })
    };
    match op {
        Op::QnnQuantize { output, out_dtype } => {
            qnn_ops::quantize(name, arg(0)?, output, *out_dtype)
        }
        Op::QnnDequantize { input } => qnn_ops::dequantize(name, arg(0)?, input),
        Op::QnnRequantize { input, output, rounding, out_dtype } => {
            requantize::qnn_requantize(name, arg(0)?, input, output, *rounding, *out_dtype)
        }
        Op::QnnConv2d { conv, input, kernel } => {
            conv::qnn_conv2d(name, arg(0)?, arg(1)?, conv, input, kernel)
        }
        Op::QnnConv2dTranspose { conv, input, kernel } => {
            conv_transpose::qnn_conv2d_transpose(name, arg(0)?, arg(1)?, conv, input, kernel)
        }
        Op::QnnDense { input, kernel } => dense::qnn_dense(name, arg(0)?, arg(1)?, input, kernel),
        Op::QnnAdd { lhs, rhs, output, rounding, out_dtype } => {
            qnn_ops::add(name, (arg(0)?, lhs), (arg(1)?, rhs), output, *rounding, *out_dtype)
        }
        Op::QnnMul { lhs, rhs, output, rounding, out_dtype } => {
            qnn_ops::mul(name, (arg(0)?, lhs), (arg(1)?, rhs), output, *rounding, *out_dtype)
        }
        Op::QnnConcatenate { inputs: params, output, axis, rounding, out_dtype } => {
            qnn_ops::concatenate(name, inputs, params, output, *axis, *rounding, *out_dtype)
        }
        Op::QnnAvgPool2d { pool, count_include_pad, input, output, rounding, out_dtype } => {
            pool::qnn_avg_pool2d(
                name,
                arg(0)?,
                pool,
                *count_include_pad,
                input,
                output,
                *rounding,
                *out_dtype,
            )
        }
        Op::QnnGlobalAvgPool2d { layout, input, output, rounding, out_dtype } => {
            pool::qnn_global_avg_pool2d(
                name,
                arg(0)?,
                *layout,
                input,
                output,
                *rounding,
                *out_dtype,
            )
        }
        Op::QnnMaxPool2d { pool } => pool::qnn_max_pool2d(name, arg(0)?, pool),
        Op::QnnClip { min, max, q } => qnn_ops::clip(name, arg(0)?, *min, *max, q),
        Op::QnnRelu { q } => qnn_ops::relu(name, arg(0)?, q),
        Op::Conv2d { conv, pad_value } => conv::conv2d(name, arg(0)?, arg(1)?, conv, *pad_value),
        Op::Dense => dense::dense(name, arg(0)?, arg(1)?),
        Op::MatMul => matmul::matmul(name, arg(0)?, arg(1)?),
        Op::Softmax { axis } => matmul::softmax(name, arg(0)?, *axis),
        Op::Lookup => matmul::lookup(name, arg(0)?, arg(1)?),
        Op::Cast { to } => elementwise::cast(name, arg(0)?, *to),
        Op::Add => elementwise::binary(name, Binary::Add, arg(0)?, arg(1)?),
        Op::Subtract => elementwise::binary(name, Binary::Subtract, arg(0)?, arg(1)?),
        Op::Multiply => elementwise::binary(name, Binary::Multiply, arg(0)?, arg(1)?),
        Op::Divide => elementwise::binary(name, Binary::Divide, arg(0)?, arg(1)?),
        Op::Round => elementwise::round(name, arg(0)?),
        Op::Fma => elementwise::fma(name, arg(0)?, arg(1)?, arg(2)?),
        Op::Sum { axes, keepdims } => shape_ops::sum(name, arg(0)?, axes, *keepdims),
        Op::Pool2d { kind, pool, pad_value } => {
            pool::pool2d(name, arg(0)?, *kind, pool, *pad_value)
        }
        Op::Pad { pads, value } => shape_ops::pad(name, arg(0)?, pads, *value),
        Op::Dilate { dilate } => conv_transpose::dilate(name, arg(0)?, dilate),
        Op::Clip { min, max } => elementwise::clip(name, arg(0)?, *min, *max),
        Op::Requantize { scale, axes, input_zero_point, output_zero_point, out_dtype } => {
            requantize::requantize(
                name,
                arg(0)?,
                scale,
                axes,
                *input_zero_point,
                *output_zero_point,
                *out_dtype,
            )
        }
        Op::Reshape { shape } => shape_ops::reshape(name, arg(0)?, shape),
        Op::Transpose { perm } => shape_ops::transpose(name, arg(0)?, perm),
        Op::Slice { starts, steps, sizes } => slice::slice(name, arg(0)?, starts, steps, sizes),
        Op::Concatenate { axis } => shape_ops::concatenate(name, inputs, *axis),
        Op::Resize { resize } => resize::resize(name, arg(0)?, resize),
    }
}
