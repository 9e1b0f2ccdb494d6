//! Recognizing the canonical lowered form of a conv/dense (see the crate docs) in a graph that
//! arrives already lowered — a lowered graph printed and parsed back, core ops built by hand —
//! so that the runtime can replace the chain by one fused kernel call there too. A graph
//! legalized here needs none of this: its [`Record`](crate::Record)s say what each chain is.
//!
//! [`match_fused_conv`] starts at a core `conv2d`/`dense` node and collects
//!
//! * the prologue: int8 data shift `cast(i16) → add(±128) → cast(8-bit)`, or the int16
//!   widening `cast(i16) → [subtract a]`;
//! * the per-channel constant `add` (int8: −T2 + T4 + bias; int16: the bias);
//! * the T3 `subtract` with its window-sum chain, giving the per-channel `w'_k`;
//! * a following `requantize` and `clip`.
//!
//! A value is absorbed only when every reader is inside the pattern and it is not a graph
//! output, so replacing [`FusedConv::nodes`] by one kernel computing [`FusedConv::output`]
//! from [`FusedConv::input`] keeps the graph's meaning.

use qnn_ir::{
    Conv2dAttrs, DType, DataLayout, Graph, Op, PoolKind, RequantScale, ValueDef, ValueId,
};

use crate::analysis::per_channel_values;
use crate::lowering::Lowering;

/// The conv-like op of a fused pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum FusedOp {
    Conv2d(Conv2dAttrs),
    Dense,
}

/// The requantize epilogue.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedRequantize {
    pub scale: RequantScale,
    pub axes: Vec<usize>,
    pub input_zero_point: i32,
    pub output_zero_point: i32,
    pub out_dtype: DType,
}

/// Everything a fused kernel needs: computes
/// `clip(requantize(conv(input + input_offset, W) + channel_constant − w'_k · windowsum))`.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedConv {
    pub op: FusedOp,
    /// `Int16Upcast` when the conv's operands are i16, else `Int8ZeroPointTerms`.
    pub lowering: Lowering,
    /// Index of the core conv/dense node.
    pub conv_node: usize,
    /// Every node the fused kernel replaces (prologue included), sorted.
    pub nodes: Vec<usize>,
    /// The value the prologue reads (the conv's data operand when there is no prologue).
    pub input: ValueId,
    pub input_dtype: DType,
    /// Added to `input` to give the conv's data operand: ±128 (dtype shift), `−a` (int16), 0.
    pub input_offset: i32,
    /// Dtype of the conv's data operand.
    pub operand_dtype: DType,
    /// Value of padded cells, in the operand's domain.
    pub pad_value: i32,
    /// The constant weights, as the conv reads them.
    pub weights: ValueId,
    pub weight_dtype: DType,
    /// Added per output channel after the conv.
    pub channel_constant: Option<Vec<i32>>,
    /// T3 multipliers `w'_k` per output channel (subtracted times the window sums).
    pub weight_zero_points: Option<Vec<i32>>,
    pub requantize: Option<FusedRequantize>,
    /// `clip` bounds after the requantize.
    pub clip: Option<(f64, f64)>,
    /// The value the fused kernel produces.
    pub output: ValueId,
}

struct Ctx<'g> {
    g: &'g Graph,
    users: Vec<Vec<usize>>,
}

impl Ctx<'_> {
    /// The only node reading `v`, when `v` is not a graph output.
    fn sole_user(&self, v: ValueId) -> Option<usize> {
        match self.users[v.index()][..] {
            [u] if !self.g.outputs.contains(&v) => Some(u),
            _ => None,
        }
    }
    /// The producer of `v` when `v`'s only reader is `user`.
    fn private_producer(&self, v: ValueId, user: usize) -> Option<usize> {
        let ValueDef::Node(p) = self.g.value(v).def else { return None };
        (self.sole_user(v) == Some(user)).then_some(p)
    }
    fn scalar_const(&self, v: ValueId) -> Option<i64> {
        let t = self.g.constant(v)?;
        (t.len() == 1 && t.shape().iter().all(|&d| d == 1))
            .then(|| t.to_i64().map(|a| a.iter().copied().next()))??
    }
}

/// Every fused pattern of `g`, one per core conv/dense node.
pub fn match_all(g: &Graph) -> Vec<FusedConv> {
    (0..g.nodes.len()).filter_map(|i| match_fused_conv(g, i)).collect()
}

/// The fused pattern around the core `conv2d`/`dense` node `node`, or `None` when `node` is
/// not one or its weights are not a constant.
pub fn match_fused_conv(g: &Graph, node: usize) -> Option<FusedConv> {
    let n = g.nodes.get(node)?;
    let (op, pad_value) = match &n.op {
        Op::Conv2d { conv, pad_value } => (FusedOp::Conv2d(conv.clone()), *pad_value),
        Op::Dense => (FusedOp::Dense, 0),
        _ => return None,
    };
    let (x, w) = (n.inputs[0], n.inputs[1]);
    g.constant(w)?;
    let cx = Ctx { g, users: g.users() };
    let operand_dtype = g.ty(x).dtype;
    let lowering = if operand_dtype == DType::I16 {
        Lowering::Int16Upcast
    } else {
        Lowering::Int8ZeroPointTerms
    };
    let mut nodes = vec![node];
    let out_shape = g.ty(n.output).shape.clone();
    let channel_axis = match &op {
        FusedOp::Conv2d(c) => c.data_layout.channel_axis(),
        FusedOp::Dense => out_shape.len() - 1,
    };

    // Epilogue: [add C] → [subtract T3] → [requantize] → [clip].
    let mut cur = n.output;
    let mut channel_constant = None;
    let mut weight_zero_points = None;
    let mut t3_reads_x = None;
    if let Some(u) = cx.sole_user(cur)
        && g.nodes[u].op == Op::Add
        && let Some(c) = per_channel_operand(&cx, u, cur, &out_shape, channel_axis)
    {
        channel_constant = Some(c);
        nodes.push(u);
        cur = g.nodes[u].output;
    }
    if lowering == Lowering::Int8ZeroPointTerms
        && let Some(u) = cx.sole_user(cur)
        && g.nodes[u].op == Op::Subtract
        && g.nodes[u].inputs[0] == cur
        && let Some((wk, chain, src)) =
            match_t3(&cx, g.nodes[u].inputs[1], u, (&op, &g.ty(w).shape), pad_value, &out_shape)
    {
        weight_zero_points = Some(wk);
        t3_reads_x = Some(src);
        nodes.push(u);
        nodes.extend(chain);
        cur = g.nodes[u].output;
    }
    if t3_reads_x.is_some_and(|v| v != x) {
        return None;
    }
    let mut requantize = None;
    if let Some(u) = cx.sole_user(cur)
        && let Op::Requantize { scale, axes, input_zero_point, output_zero_point, out_dtype } =
            &g.nodes[u].op
    {
        requantize = Some(FusedRequantize {
            scale: scale.clone(),
            axes: axes.clone(),
            input_zero_point: *input_zero_point,
            output_zero_point: *output_zero_point,
            out_dtype: *out_dtype,
        });
        nodes.push(u);
        cur = g.nodes[u].output;
    }
    let mut clip = None;
    if requantize.is_some()
        && let Some(u) = cx.sole_user(cur)
        && let Op::Clip { min, max } = g.nodes[u].op
    {
        clip = Some((min, max));
        nodes.push(u);
        cur = g.nodes[u].output;
    }

    // Prologue, absorbed only when `x` is read by nothing but the pattern.
    let readers_inside = cx.users[x.index()].iter().all(|u| nodes.contains(u));
    let (input, input_offset, prologue) = if readers_inside && !g.outputs.contains(&x) {
        match_prologue(&cx, x, lowering).unwrap_or((x, 0, vec![]))
    } else {
        (x, 0, vec![])
    };
    nodes.extend(prologue);
    nodes.sort_unstable();
    Some(FusedConv {
        op,
        lowering,
        conv_node: node,
        nodes,
        input,
        input_dtype: g.ty(input).dtype,
        input_offset,
        operand_dtype,
        pad_value,
        weights: w,
        weight_dtype: g.ty(w).dtype,
        channel_constant,
        weight_zero_points,
        requantize,
        clip,
        output: cur,
    })
}

/// The per-channel constant of `add` node `u` (the operand other than `v`).
fn per_channel_operand(
    cx: &Ctx<'_>,
    u: usize,
    v: ValueId,
    out_shape: &[usize],
    channel_axis: usize,
) -> Option<Vec<i32>> {
    let ins = &cx.g.nodes[u].inputs;
    let other = if ins[0] == v { ins[1] } else { ins[0] };
    let t = cx.g.constant(other)?;
    if t.dtype() != DType::I32 {
        return None;
    }
    let vals = per_channel_values(t, out_shape, channel_axis)?;
    Some(vals.into_iter().map(|c| c as i32).collect())
}

/// Int8: `cast(i16) → add(k) → cast(8-bit)` gives offset `k`. Int16: `cast(i16) →
/// [subtract a]` gives offset `−a`.
fn match_prologue(
    cx: &Ctx<'_>,
    x: ValueId,
    lowering: Lowering,
) -> Option<(ValueId, i32, Vec<usize>)> {
    let g = cx.g;
    let ValueDef::Node(last) = g.value(x).def else { return None };
    match lowering {
        Lowering::Int8ZeroPointTerms => {
            let Op::Cast { to } = g.nodes[last].op else { return None };
            if !to.is_8bit() {
                return None;
            }
            let add = cx.private_producer(g.nodes[last].inputs[0], last)?;
            if g.nodes[add].op != Op::Add {
                return None;
            }
            let k = cx.scalar_const(g.nodes[add].inputs[1])?;
            let widen = cx.private_producer(g.nodes[add].inputs[0], add)?;
            let src = g.nodes[widen].inputs[0];
            let ok =
                g.nodes[widen].op == (Op::Cast { to: DType::I16 }) && g.ty(src).dtype.is_8bit();
            ok.then_some((src, k as i32, vec![widen, add, last]))
        }
        Lowering::Int16Upcast => {
            let (widen, offset, mut nodes) = if g.nodes[last].op == Op::Subtract {
                let a = cx.scalar_const(g.nodes[last].inputs[1])?;
                (cx.private_producer(g.nodes[last].inputs[0], last)?, -a as i32, vec![last])
            } else {
                (last, 0, vec![])
            };
            let src = g.nodes[widen].inputs[0];
            let ok =
                g.nodes[widen].op == (Op::Cast { to: DType::I16 }) && g.ty(src).dtype.is_8bit();
            nodes.push(widen);
            ok.then_some((src, offset, nodes))
        }
    }
}

/// The T3 chain ending in `t3` (read by node `sub`): returns `w'_k`, the chain's nodes and
/// the data value it sums.
fn match_t3(
    cx: &Ctx<'_>,
    t3: ValueId,
    sub: usize,
    (op, weight_shape): (&FusedOp, &[usize]),
    pad_value: i32,
    out_shape: &[usize],
) -> Option<(Vec<i32>, Vec<usize>, ValueId)> {
    let g = cx.g;
    let flat = |v: ValueId| -> Option<Vec<i32>> {
        let t = g.constant(v)?;
        (t.dtype() == DType::I32)
            .then(|| t.to_i64().map(|a| a.iter().map(|&x| x as i32).collect()))?
    };
    match op {
        FusedOp::Dense => {
            let mul = cx.private_producer(t3, sub)?;
            if g.nodes[mul].op != Op::Multiply {
                return None;
            }
            let wk = flat(g.nodes[mul].inputs[1])?;
            let sum = cx.private_producer(g.nodes[mul].inputs[0], mul)?;
            let src = g.nodes[sum].inputs[0];
            let last = g.ty(src).rank().checked_sub(1)?;
            let ok = g.nodes[sum].op == (Op::Sum { axes: vec![last], keepdims: true })
                && wk.len() == *out_shape.last()?;
            ok.then_some((wk, vec![mul, sum], src))
        }
        FusedOp::Conv2d(conv) => {
            let back = cx.private_producer(t3, sub)?;
            if g.nodes[back].op != (Op::Reshape { shape: out_shape.to_vec() }) {
                return None;
            }
            let mul = cx.private_producer(g.nodes[back].inputs[0], back)?;
            if g.nodes[mul].op != Op::Multiply {
                return None;
            }
            let wk = flat(g.nodes[mul].inputs[1])?;
            let sum = cx.private_producer(g.nodes[mul].inputs[0], mul)?;
            let axis = match conv.data_layout {
                DataLayout::Nchw => 2,
                DataLayout::Nhwc => 4,
            };
            if g.nodes[sum].op != (Op::Sum { axes: vec![axis], keepdims: true }) {
                return None;
            }
            let split = cx.private_producer(g.nodes[sum].inputs[0], sum)?;
            if !matches!(g.nodes[split].op, Op::Reshape { ref shape } if shape.len() == 5) {
                return None;
            }
            let pool = cx.private_producer(g.nodes[split].inputs[0], split)?;
            let Op::Pool2d { kind: PoolKind::Sum, pool: p, pad_value: pv } = &g.nodes[pool].op
            else {
                return None;
            };
            let [_, _, r, s] = conv.kernel_layout.oihw(weight_shape);
            let same_window = p.kernel == [r, s]
                && p.strides == conv.strides
                && p.dilation == conv.dilation
                && p.layout == conv.data_layout
                && *pv == pad_value;
            if !same_window {
                return None;
            }
            let mut chain = vec![back, mul, sum, split, pool];
            let mut src = g.nodes[pool].inputs[0];
            if p.padding != conv.padding {
                let pad = cx.private_producer(src, pool)?;
                let Op::Pad { pads, value } = &g.nodes[pad].op else { return None };
                let ax = conv.data_layout.axes();
                let [pt, pl, pb, pr] = conv.padding;
                let ok = p.padding == [0; 4]
                    && pads[ax[2]] == [pt, pb]
                    && pads[ax[3]] == [pl, pr]
                    && pads[ax[0]] == [0, 0]
                    && pads[ax[1]] == [0, 0]
                    && *value == f64::from(pad_value);
                if !ok {
                    return None;
                }
                chain.push(pad);
                src = g.nodes[pad].inputs[0];
            }
            Some((wk, chain, src))
        }
    }
}
