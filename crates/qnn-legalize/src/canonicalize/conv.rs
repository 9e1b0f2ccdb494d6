//! Emission of the two conv/dense lowerings in their canonical form (documented in the crate
//! root; [`crate::pattern`] recognizes exactly this).

use qnn_ir::{Conv2dAttrs, DType, DataLayout, Graph, Node, Op, Pool2dAttrs, PoolKind, ValueId};

use super::Rewriter;
use crate::analysis::{ConvForm, QConv};
use crate::error::LegalizeError;
use crate::fold::{Int8Fold, Int16Fold};

/// The core conv/dense op on prepared operands.
fn core_op(q: &QConv, pad_value: i64) -> Op {
    match &q.form {
        ConvForm::Conv2d(conv) => Op::Conv2d { conv: conv.clone(), pad_value: pad_value as i32 },
        ConvForm::Dense => Op::Dense,
    }
}

/// `cast(i16) → add(shift) → cast(dtype)`: the exact run-time data shift of dtype
/// legalization (the i16 sum stays inside the target 8-bit type by construction).
fn shift_data(
    rw: &mut Rewriter<'_>,
    q: &QConv,
    x: ValueId,
    shift: i64,
    to: DType,
) -> Result<ValueId, LegalizeError> {
    let n = &q.node;
    let x16 = rw.node(&format!("{n}.x16"), None, Op::Cast { to: DType::I16 }, &[x])?;
    let k = rw.scalar(&format!("{n}.shift"), DType::I16, shift)?;
    let xs = rw.node(&format!("{n}.xs"), None, Op::Add, &[x16, k])?;
    rw.node(&format!("{n}.x8"), None, Op::Cast { to }, &[xs])
}

/// int8 terms: `[shift] → conv/dense(x', W') → [add C] → [subtract T3]`.
pub(crate) fn emit_int8(
    rw: &mut Rewriter<'_>,
    q: &QConv,
    f: &Int8Fold,
    out: &str,
) -> Result<ValueId, LegalizeError> {
    let n = &q.node;
    let x = rw.value(q.data)?;
    let x8 = if f.plan.data_shift != 0 {
        shift_data(rw, q, x, f.plan.data_shift, f.plan.data_dtype)?
    } else {
        x
    };
    let w = rw.int_constant(
        &format!("{n}.w8"),
        f.plan.weight_dtype,
        &q.weight_shape,
        f.weights.iter().copied().collect(),
    )?;
    let (with_c, with_t3) = (f.needs_constant(), f.needs_t3());
    let last = |is_last: bool| is_last.then_some(out);
    let mut y =
        rw.node(&format!("{n}.t1"), last(!with_c && !with_t3), core_op(q, f.a), &[x8, w])?;
    if with_c {
        let c = rw.int_constant(
            &format!("{n}.c"),
            DType::I32,
            &q.channel_const_shape(),
            f.constant.clone(),
        )?;
        y = rw.node(&format!("{n}.t1c"), last(!with_t3), Op::Add, &[y, c])?;
    }
    if with_t3 {
        let t3 = emit_t3(rw, q, x8, f)?;
        y = rw.node(out, Some(out), Op::Subtract, &[y, t3])?;
    }
    Ok(y)
}

/// `T3 = w'_k · Σ_{group's c, r, s} P'`:
/// conv2d: `[pad] → pool2d(sum) → reshape 5-D → sum(group channels) → multiply(w') → reshape`;
/// dense: `sum(K) → multiply(w')`.
fn emit_t3(
    rw: &mut Rewriter<'_>,
    q: &QConv,
    x8: ValueId,
    f: &Int8Fold,
) -> Result<ValueId, LegalizeError> {
    let n = &q.node;
    let d = q.dims;
    match &q.form {
        ConvForm::Dense => {
            let rank = q.data_shape.len();
            let s = rw.node(
                &format!("{n}.t3sum"),
                None,
                Op::Sum { axes: vec![rank - 1], keepdims: true },
                &[x8],
            )?;
            let wk = rw.int_constant(&format!("{n}.wzp"), DType::I32, &[d.o], f.wzp.clone())?;
            rw.node(&format!("{n}.t3"), None, Op::Multiply, &[s, wk])
        }
        ConvForm::Conv2d(conv) => {
            let (src, pool) = window_sum_input(rw, q, conv, x8, f.a)?;
            let s = rw.node(
                &format!("{n}.t3pool"),
                None,
                Op::Pool2d { kind: PoolKind::Sum, pool, pad_value: f.a as i32 },
                &[src],
            )?;
            let (g, cpg, opg) = (d.groups, d.cpg(), d.opg());
            let (split, axis, wshape) = match conv.data_layout {
                DataLayout::Nchw => (vec![d.n, g, cpg, d.oh, d.ow], 2, vec![g, opg, 1, 1]),
                DataLayout::Nhwc => (vec![d.n, d.oh, d.ow, g, cpg], 4, vec![g, opg]),
            };
            let s5 = rw.node(&format!("{n}.t3split"), None, Op::Reshape { shape: split }, &[s])?;
            let ss = rw.node(
                &format!("{n}.t3sum"),
                None,
                Op::Sum { axes: vec![axis], keepdims: true },
                &[s5],
            )?;
            let wk = rw.int_constant(&format!("{n}.wzp"), DType::I32, &wshape, f.wzp.clone())?;
            let m = rw.node(&format!("{n}.t3mul"), None, Op::Multiply, &[ss, wk])?;
            rw.node(&format!("{n}.t3"), None, Op::Reshape { shape: q.out_shape.clone() }, &[m])
        }
    }
}

/// The input and window of the T3 window sums: the conv's window on `x8` padded with the
/// (shifted) zero point. `pool2d` takes padding smaller than the window only; larger padding
/// (legal for a conv) is applied by an explicit `pad` first.
fn window_sum_input(
    rw: &mut Rewriter<'_>,
    q: &QConv,
    conv: &Conv2dAttrs,
    x8: ValueId,
    a: i64,
) -> Result<(ValueId, Pool2dAttrs), LegalizeError> {
    let (r, s) = (q.dims.r, q.dims.s);
    let [pt, pl, pb, pr] = conv.padding;
    let mut pool = Pool2dAttrs {
        kernel: [r, s],
        strides: conv.strides,
        padding: conv.padding,
        dilation: conv.dilation,
        layout: conv.data_layout,
    };
    if pt < r && pb < r && pl < s && pr < s {
        return Ok((x8, pool));
    }
    let ax = conv.data_layout.axes();
    let mut pads = vec![[0usize; 2]; 4];
    pads[ax[2]] = [pt, pb];
    pads[ax[3]] = [pl, pr];
    pool.padding = [0; 4];
    let p =
        rw.node(&format!("{}.t3pad", q.node), None, Op::Pad { pads, value: a as f64 }, &[x8])?;
    Ok((p, pool))
}

/// `cast(i16) → [subtract zp]`: an 8-bit operand with its zero point (when there is one)
/// removed, exact in i16.
fn upcast(
    rw: &mut Rewriter<'_>,
    stem: &str,
    v: ValueId,
    zp: Option<ValueId>,
) -> Result<ValueId, LegalizeError> {
    let v16 = rw.node(&format!("{stem}16"), None, Op::Cast { to: DType::I16 }, &[v])?;
    match zp {
        Some(z) => rw.node(&format!("{stem}z"), None, Op::Subtract, &[v16, z]),
        None => Ok(v16),
    }
}

/// The core conv/dense on prepared i16 operands, then `[add bias]` (a per-output-channel
/// constant of `bias_shape`); the last node is named `out`.
fn accumulate(
    rw: &mut Rewriter<'_>,
    n: &str,
    core: Op,
    operands: [ValueId; 2],
    bias: &[i64],
    bias_shape: &[usize],
    out: &str,
) -> Result<ValueId, LegalizeError> {
    let with_bias = bias.iter().any(|&b| b != 0);
    let y = rw.node(&format!("{n}.acc"), (!with_bias).then_some(out), core, &operands)?;
    if !with_bias {
        return Ok(y);
    }
    let b = rw.int_constant(&format!("{n}.bias"), DType::I32, bias_shape, bias.to_vec())?;
    rw.node(out, Some(out), Op::Add, &[y, b])
}

/// int16 upcast: `cast(i16) → [subtract a] → conv/dense(x16, W − w) → [add bias]`.
pub(crate) fn emit_int16(
    rw: &mut Rewriter<'_>,
    q: &QConv,
    f: &Int16Fold,
    out: &str,
) -> Result<ValueId, LegalizeError> {
    let n = &q.node;
    let x = rw.value(q.data)?;
    let za = (q.a != 0).then(|| rw.scalar(&format!("{n}.zp"), DType::I16, q.a)).transpose()?;
    let x16 = upcast(rw, &format!("{n}.x"), x, za)?;
    let w = rw.int_constant(
        &format!("{n}.w16"),
        DType::I16,
        &q.weight_shape,
        f.weights.iter().copied().collect(),
    )?;
    accumulate(rw, n, core_op(q, 0), [x16, w], &q.bias, &q.channel_const_shape(), out)
}

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
) -> Result<ValueId, LegalizeError> {
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
    let x16 = upcast(rw, &format!("{n}.x"), x, za)?;
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
    accumulate(rw, n, core, [x16, w16], &bias, &bias_shape, out)
}
