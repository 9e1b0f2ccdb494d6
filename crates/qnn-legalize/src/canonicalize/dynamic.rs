//! Conv/dense whose weights are computed at run time: nothing to fold, pack or choose.

use qnn_ir::backend::ConvGeometry;
use qnn_ir::{DType, Graph, Node, Op, ValueId};

use super::Rewriter;
use super::conv::{accumulate, upcast};
use crate::analysis::ConvForm;
use crate::error::LegalizeError;
use crate::lowering::Lowering;
use crate::record::{ConvRecord, ConvWeights};

/// Weights computed at run time (a `MatMulInteger`/`QLinearMatMul` whose B is an activation):
/// nothing to pack, fold or prove ranges on, so the int16 upcast with both operands prepared
/// at run time, `cast(i16) → [subtract a] ‖ cast(i16) → [subtract w_k] → conv/dense →
/// [add bias]`. The accumulator bound takes every value of the 8-bit dtypes:
/// `K · max|x − a| · max|w − w_k| + max|bias|` must fit in i32, else the op is refused.
pub(crate) fn emit_dynamic(
    rw: &mut Rewriter<'_>,
    graph: &Graph,
    node: &Node,
    bias: Option<Vec<i64>>,
    out: &str,
) -> Result<(ValueId, ConvRecord), LegalizeError> {
    let op_name = node.op.name();
    let n = node.name.as_str();
    let (core, input, kernel) = match &node.op {
        Op::QnnConv2d { conv, input, kernel } => {
            (Op::Conv2d { conv: conv.clone(), pad_value: 0 }, input, kernel)
        }
        Op::QnnDense { input, kernel } => (Op::Dense, input, kernel),
        other => unreachable!("emit_dynamic on {}", other.name()),
    };
    let (data, w) = (node.inputs[0], node.inputs[1]);
    let (x_ty, w_ty) = (graph.ty(data), graph.ty(w));
    let out_shape = &graph.ty(node.output).shape;
    // Output channels, reduction length, the kernel's output-channel axis, the output's
    // channel axis.
    let (o, k, w_axis, c_axis) = match &node.op {
        Op::QnnConv2d { conv, .. } => {
            let [o, cpg, r, s] = conv.kernel_layout.oihw(&w_ty.shape);
            (o, cpg * r * s, conv.kernel_layout.output_axis(), conv.data_layout.channel_axis())
        }
        _ => (w_ty.shape[0], w_ty.shape[1], 0, out_shape.len() - 1),
    };
    let unsupported =
        |what: String| LegalizeError::Unsupported { op: op_name.into(), node: n.into(), what };
    let eight_bit = |d: DType| matches!(d, DType::U8 | DType::I8);
    if !eight_bit(x_ty.dtype) || !eight_bit(w_ty.dtype) {
        return Err(unsupported(format!(
            "weights computed at run time with {} × {} operands (8-bit only)",
            x_ty.dtype, w_ty.dtype
        )));
    }
    let spread = |d: DType, zp: i64| {
        let (lo, hi) = d.int_range().unwrap_or((0, 0));
        (hi - zp).max(zp - lo)
    };
    let a = i64::from(input.zero_point_at(0));
    let wzp: Vec<i64> = (0..o).map(|j| i64::from(kernel.zero_point_at(j))).collect();
    let max_w = wzp.iter().map(|&z| spread(w_ty.dtype, z)).max().unwrap_or(0);
    let bias_folded = bias.is_some();
    let bias = bias.unwrap_or_default();
    let max_bias = bias.iter().map(|b| b.abs()).max().unwrap_or(0);
    let bound =
        (k as i128) * i128::from(spread(x_ty.dtype, a)) * i128::from(max_w) + i128::from(max_bias);
    if bound > i128::from(i32::MAX) {
        return Err(LegalizeError::Overflow {
            op: op_name.into(),
            node: n.into(),
            detail: format!(
                "weights computed at run time: K = {k} products of up to {} each (+ bias) may \
                 reach {bound}, beyond i32",
                spread(x_ty.dtype, a) * max_w
            ),
        });
    }
    let x = rw.value(data)?;
    let za = (a != 0).then(|| rw.scalar(&format!("{n}.zp"), DType::I16, a)).transpose()?;
    let mark = rw.mark();
    let x16 = upcast(rw, &format!("{n}.x"), x, za)?;
    let prologue = rw.since(mark);
    let wv = rw.value(w)?;
    let z = if wzp.iter().all(|&z| z == 0) {
        None
    } else if wzp.iter().all(|&z| z == wzp[0]) {
        Some(rw.scalar(&format!("{n}.wzp"), DType::I16, wzp[0])?)
    } else {
        let mut shape = vec![1; w_ty.shape.len()];
        shape[w_axis] = o;
        Some(rw.int_constant(&format!("{n}.wzp"), DType::I16, &shape, wzp)?)
    };
    let w16 = upcast(rw, &format!("{n}.w"), wv, z)?;
    let mut bias_shape = vec![o];
    bias_shape.extend(std::iter::repeat_n(1, out_shape.len() - 1 - c_axis));
    let (form, geometry) = match &core {
        Op::Conv2d { conv, .. } => {
            let [batch, in_c, in_h, in_w] = conv.data_layout.nchw(&x_ty.shape);
            let [_, _, kh, kw] = conv.kernel_layout.oihw(&w_ty.shape);
            let geometry = ConvGeometry {
                batch,
                in_h,
                in_w,
                in_c,
                out_c: o,
                kernel: [kh, kw],
                strides: conv.strides,
                padding: conv.padding,
                dilation: conv.dilation,
                groups: conv.groups,
            };
            (ConvForm::Conv2d(conv.clone()), geometry)
        }
        _ => {
            let rows = x_ty.shape[..x_ty.shape.len() - 1].iter().product();
            (ConvForm::Dense, ConvGeometry::dense(rows, k, o))
        }
    };
    let (y, core) = accumulate(rw, n, core, [x16, w16], &bias, &bias_shape, out)?;
    let record = ConvRecord {
        form,
        geometry,
        lowering: Lowering::Int16Upcast,
        backend: None,
        int8_dot: None,
        operands: (DType::I16, DType::I16),
        data_shift: 0,
        weight_shift: 0,
        input: x,
        input_offset: -(a as i32),
        operand: x16,
        prologue,
        core,
        pad_value: 0,
        weights: ConvWeights::RunTime(w16),
        channel_constant: bias
            .iter()
            .any(|&b| b != 0)
            .then(|| bias.iter().map(|&b| b as i32).collect()),
        t3_zero_points: None,
        bias_folded,
    };
    Ok((y, record))
}
