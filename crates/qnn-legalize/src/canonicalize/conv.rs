//! Emission of the two conv/dense lowerings in their canonical form (documented in the crate
//! root), each with its [`ConvRecord`]: the chosen lowering and backend, the folded weights
//! and constants, and the nodes of the prologue and of the core op.

use qnn_ir::backend::Int8Dot;
use qnn_ir::{Conv2dAttrs, DType, DataLayout, Op, Pool2dAttrs, PoolKind, ValueId};

use super::Rewriter;
use crate::analysis::{ConvForm, QConv};
use crate::error::LegalizeError;
use crate::fold::{Int8Fold, Int16Fold};
use crate::lowering::Lowering;
use crate::record::{ConvRecord, ConvWeights};

/// What the policy chose for a conv/dense, as its record carries it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chosen {
    pub backend: &'static str,
    pub int8_dot: Option<Int8Dot>,
}

/// A conv/dense record for `q` with everything common to both lowerings; the emitters fill
/// in the rest.
fn record(q: &QConv, lowering: Lowering, chosen: Chosen, input: ValueId) -> ConvRecord {
    ConvRecord {
        form: q.form.clone(),
        geometry: q.geometry(),
        lowering,
        backend: Some(chosen.backend),
        int8_dot: chosen.int8_dot,
        operands: (q.data_dtype, q.weight_dtype),
        data_shift: 0,
        weight_shift: 0,
        input,
        input_offset: 0,
        operand: input,
        prologue: Vec::new(),
        core: 0,
        pad_value: 0,
        weights: ConvWeights::Folded(q.ohwi.clone()),
        channel_constant: None,
        t3_zero_points: None,
        bias_folded: q.has_bias,
    }
}

/// `i64` values proven to fit i32 (they were emitted as an i32 constant).
fn narrow(v: &[i64]) -> Vec<i32> {
    v.iter().map(|&x| x as i32).collect()
}

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
    chosen: Chosen,
    out: &str,
) -> Result<(ValueId, ConvRecord), LegalizeError> {
    let n = &q.node;
    let x = rw.value(q.data)?;
    let mark = rw.mark();
    let x8 = if f.plan.data_shift != 0 {
        shift_data(rw, q, x, f.plan.data_shift, f.plan.data_dtype)?
    } else {
        x
    };
    let prologue = rw.since(mark);
    let folded = f.weights(q)?;
    let w = rw.constant(&format!("{n}.w8"), folded.graph)?;
    let (with_c, with_t3) = (f.needs_constant(), f.needs_t3());
    let last = |is_last: bool| is_last.then_some(out);
    let mut y =
        rw.node(&format!("{n}.t1"), last(!with_c && !with_t3), core_op(q, f.a), &[x8, w])?;
    let core = rw.producer(y);
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
    let r = ConvRecord {
        operands: (f.plan.data_dtype, f.plan.weight_dtype),
        data_shift: f.plan.data_shift,
        weight_shift: f.plan.weight_shift,
        input_offset: f.plan.data_shift as i32,
        operand: x8,
        prologue,
        core,
        pad_value: if q.form == ConvForm::Dense { 0 } else { f.a as i32 },
        weights: ConvWeights::Folded(folded.ohwi),
        channel_constant: with_c.then(|| narrow(&f.constant)),
        t3_zero_points: with_t3.then(|| narrow(&f.wzp)),
        ..record(q, Lowering::Int8ZeroPointTerms, chosen, x)
    };
    Ok((y, r))
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
pub(super) fn upcast(
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
/// constant of `bias_shape`); the last node is named `out`. Returns the result and the core
/// node.
pub(super) fn accumulate(
    rw: &mut Rewriter<'_>,
    n: &str,
    core: Op,
    operands: [ValueId; 2],
    bias: &[i64],
    bias_shape: &[usize],
    out: &str,
) -> Result<(ValueId, usize), LegalizeError> {
    let with_bias = bias.iter().any(|&b| b != 0);
    let y = rw.node(&format!("{n}.acc"), (!with_bias).then_some(out), core, &operands)?;
    let core = rw.producer(y);
    if !with_bias {
        return Ok((y, core));
    }
    let b = rw.int_constant(&format!("{n}.bias"), DType::I32, bias_shape, bias.to_vec())?;
    Ok((rw.node(out, Some(out), Op::Add, &[y, b])?, core))
}

/// int16 upcast: `cast(i16) → [subtract a] → conv/dense(x16, W − w) → [add bias]`.
pub(crate) fn emit_int16(
    rw: &mut Rewriter<'_>,
    q: &QConv,
    f: &Int16Fold,
    chosen: Chosen,
    out: &str,
) -> Result<(ValueId, ConvRecord), LegalizeError> {
    let n = &q.node;
    let x = rw.value(q.data)?;
    let za = (q.a != 0).then(|| rw.scalar(&format!("{n}.zp"), DType::I16, q.a)).transpose()?;
    let mark = rw.mark();
    let x16 = upcast(rw, &format!("{n}.x"), x, za)?;
    let prologue = rw.since(mark);
    let folded = f.weights(q)?;
    let w = rw.constant(&format!("{n}.w16"), folded.graph)?;
    let (y, core) =
        accumulate(rw, n, core_op(q, 0), [x16, w], &q.bias, &q.channel_const_shape(), out)?;
    let r = ConvRecord {
        operands: (DType::I16, DType::I16),
        input_offset: -(q.a as i32),
        operand: x16,
        prologue,
        core,
        weights: ConvWeights::Folded(folded.ohwi),
        channel_constant: q.bias.iter().any(|&b| b != 0).then(|| narrow(&q.bias)),
        ..record(q, Lowering::Int16Upcast, chosen, x)
    };
    Ok((y, r))
}
