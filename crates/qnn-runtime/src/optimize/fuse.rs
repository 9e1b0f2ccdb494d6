//! Fusion: a canonical lowered conv/dense chain (recognized by [`qnn_legalize::pattern`])
//! becomes one [`ConvSpec`]: the frame's [`ConvProblem`] (NHWC geometry, operand dtypes, pad
//! value, fused data offset), OHWI weights and the [`EpilogueSpec`] (per-channel constant,
//! T3, requantize, clamp).
//!
//! What the frame cannot take stays outside the fused op, as ordinary nodes:
//! * the int8 data shift (`cast → add ±128 → cast`): the frame fuses a data offset only into
//!   the widening to int16, so the shift runs as an element-wise step before the conv;
//! * a requantize whose multipliers vary along another axis than the output channels, or
//!   whose output is not u8/i8/i32 (and the clip after it);
//! * a clip whose interval holds no value of the dtype (the reference reports that when it
//!   runs, and so does the compiled model).

use qnn_ir::{DType, DataLayout, Graph, ValueDef, ValueId};
use qnn_kernels::{ConvGeometry, ConvProblem, EpilogueSpec};
use qnn_legalize::Lowering;
use qnn_legalize::pattern::{FusedConv, FusedOp};

/// The logical form of a fused op's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConvKind {
    /// A conv2d whose graph tensors are in this layout.
    Conv2d(DataLayout),
    /// A dense layer `[.., K] × [N, K]ᵀ`.
    Dense,
}

/// One fused conv/dense, ready for kernel selection.
#[derive(Debug, Clone)]
pub(crate) struct ConvSpec {
    /// The core conv/dense node's name.
    pub name: String,
    pub kind: ConvKind,
    pub lowering: Lowering,
    pub problem: ConvProblem,
    /// OHWI weights (i32 values of the weight dtype).
    pub weights: Vec<i32>,
    pub epilogue: EpilogueSpec,
    /// The value the fused op reads and the one it defines.
    pub input: ValueId,
    pub output: ValueId,
    /// Indices of the graph nodes it replaces, sorted.
    pub nodes: Vec<usize>,
    /// What was fused, for the plan report (`bias`, `T3`, `requantize(float)`, …).
    pub fused: Vec<String>,
}

/// The spec of pattern `f` of graph `g`, or why it cannot be fused.
pub(crate) fn conv_spec(g: &Graph, f: &FusedConv) -> Result<ConvSpec, String> {
    let conv = &g.nodes[f.conv_node];
    let x = conv.inputs[0];
    let mut nodes = f.nodes.clone();
    let mut fused = Vec::new();
    // The prologue, unless it is a shift the frame cannot fuse.
    let (input, input_offset) =
        if f.input != x && (f.lowering == Lowering::Int16Upcast || f.input_offset == 0) {
            if f.input_offset != 0 {
                fused.push(format!("data offset {:+}", f.input_offset));
            }
            fused.push(format!("widen {}→{}", f.input_dtype, f.operand_dtype));
            (f.input, f.input_offset)
        } else {
            let prologue = ancestors_within(g, x, &nodes);
            nodes.retain(|n| !prologue.contains(n));
            (x, 0)
        };
    let (kind, geometry, out_c) = geometry(g, f, x)?;
    let channel_axis = match kind {
        ConvKind::Conv2d(l) => l.channel_axis(),
        ConvKind::Dense => g.ty(conv.output).rank() - 1,
    };
    let mut output = f.output;
    let mut requant = f.requantize.clone();
    let mut clip = f.clip;
    if let Some(r) = &requant {
        let per_channel_ok = r.axes.is_empty() || r.axes == [channel_axis];
        let len_ok = r.scale.len() == 1 || r.scale.len() == out_c;
        let dtype_ok = matches!(r.out_dtype, DType::U8 | DType::I8 | DType::I32);
        if !(per_channel_ok && len_ok && dtype_ok) {
            // Cut the chain before the requantize: it and a clip after it stay nodes.
            let mut end = output;
            if clip.is_some() {
                let c = producer(g, end)?;
                nodes.retain(|&n| n != c);
                end = g.nodes[c].inputs[0];
            }
            let rq = producer(g, end)?;
            nodes.retain(|&n| n != rq);
            output = g.nodes[rq].inputs[0];
            requant = None;
            clip = None;
        }
    }
    let out_dtype = requant.as_ref().map_or(DType::I32, |r| r.out_dtype);
    let mut clamp = None;
    if let Some((min, max)) = clip {
        match clamp_bounds(min, max, out_dtype) {
            Some(b) => clamp = Some(b),
            None => {
                let c = producer(g, output)?;
                nodes.retain(|&n| n != c);
                output = g.nodes[c].inputs[0];
            }
        }
    }
    if g.ty(output).dtype != out_dtype {
        return Err(format!(
            "the fused output would be {out_dtype}, the graph's value is {}",
            g.ty(output).dtype
        ));
    }
    if f.channel_constant.is_some() {
        fused.push("channel constant".into());
    }
    if f.weight_zero_points.is_some() {
        fused.push("T3 window sums".into());
    }
    if let Some(r) = &requant {
        let mode = match &r.scale {
            qnn_ir::RequantScale::Fixed { rounding, .. } => rounding.to_string(),
            qnn_ir::RequantScale::Float { .. } => "float".into(),
        };
        fused.push(format!("requantize({mode}) → {}", r.out_dtype));
    }
    if let Some((lo, hi)) = clamp {
        fused.push(format!("clip [{lo}, {hi}]"));
    }
    let weights = ohwi_weights(g, f)?;
    let operand_pad = f.pad_value;
    let problem = ConvProblem {
        geometry,
        data: g.ty(input).dtype,
        weight: f.weight_dtype,
        pad_value: operand_pad - input_offset,
        data_offset: -input_offset,
    };
    problem.validate().map_err(|e| e.to_string())?;
    let epilogue = EpilogueSpec {
        bias: f.channel_constant.clone().unwrap_or_else(|| vec![0]),
        t3_zero_point: f.weight_zero_points.clone(),
        requant: requant.as_ref().map(|r| r.scale.clone()),
        input_zero_point: requant.as_ref().map_or(0, |r| r.input_zero_point),
        out_dtype,
        zero_point: requant.as_ref().map_or(0, |r| r.output_zero_point),
        clamp,
    };
    nodes.sort_unstable();
    Ok(ConvSpec {
        name: conv.name.clone(),
        kind,
        lowering: f.lowering,
        problem,
        weights,
        epilogue,
        input,
        output,
        nodes,
        fused,
    })
}

/// The integers a `clip` to `[min, max]` keeps in `dtype`, as the reference computes them;
/// `None` when the reference would refuse the clip.
fn clamp_bounds(min: f64, max: f64, dtype: DType) -> Option<(i32, i32)> {
    let (lo_d, hi_d) = dtype.int_range()?;
    if min.is_nan() || max.is_nan() || min > max {
        return None;
    }
    let lo = (min.ceil() as i64).max(lo_d);
    let hi = (max.floor() as i64).min(hi_d);
    (lo <= hi).then_some((lo as i32, hi as i32))
}

fn producer(g: &Graph, v: ValueId) -> Result<usize, String> {
    match g.value(v).def {
        ValueDef::Node(i) => Ok(i),
        _ => Err(format!("value `{}` has no producer", g.value(v).name)),
    }
}

/// The nodes of `within` that `v` depends on (its producers, transitively, inside the set).
fn ancestors_within(g: &Graph, v: ValueId, within: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        if let ValueDef::Node(i) = g.value(v).def
            && within.contains(&i)
            && !out.contains(&i)
        {
            out.push(i);
            stack.extend(g.nodes[i].inputs.iter().copied());
        }
    }
    out
}

/// Kind, NHWC geometry and output channels of the pattern's conv/dense reading `x`.
fn geometry(
    g: &Graph,
    f: &FusedConv,
    x: ValueId,
) -> Result<(ConvKind, ConvGeometry, usize), String> {
    let xs = &g.ty(x).shape;
    let ws = &g.ty(f.weights).shape;
    match &f.op {
        FusedOp::Conv2d(a) => {
            if xs.len() != 4 || ws.len() != 4 {
                return Err("conv2d operands must be 4-D".into());
            }
            let [n, c, h, w] = a.data_layout.nchw(xs);
            let [o, _, kh, kw] = a.kernel_layout.oihw(ws);
            let geo = ConvGeometry {
                batch: n,
                in_h: h,
                in_w: w,
                in_c: c,
                out_c: o,
                kernel: [kh, kw],
                strides: a.strides,
                padding: a.padding,
                dilation: a.dilation,
                groups: a.groups,
            };
            Ok((ConvKind::Conv2d(a.data_layout), geo, o))
        }
        FusedOp::Dense => {
            let (&k, lead) = xs.split_last().ok_or("dense data must have rank ≥ 1")?;
            let rows = lead.iter().product();
            let n = *ws.first().ok_or("dense weights must be 2-D")?;
            Ok((ConvKind::Dense, ConvGeometry::dense(rows, k, n), n))
        }
    }
}

/// The pattern's constant weights in OHWI order.
fn ohwi_weights(g: &Graph, f: &FusedConv) -> Result<Vec<i32>, String> {
    let t = g.constant(f.weights).ok_or("the weights are not a constant")?;
    let a = t.to_i64().ok_or("the weights are not integers")?;
    match &f.op {
        FusedOp::Dense => Ok(a.iter().map(|&v| v as i32).collect()),
        FusedOp::Conv2d(attrs) => {
            let l = attrs.kernel_layout;
            let [o, i, kh, kw] = l.oihw(a.shape());
            let ax = l.axes();
            let mut out = Vec::with_capacity(o * i * kh * kw);
            let mut idx = [0usize; 4];
            for ko in 0..o {
                for r in 0..kh {
                    for s in 0..kw {
                        for c in 0..i {
                            idx[ax[0]] = ko;
                            idx[ax[1]] = c;
                            idx[ax[2]] = r;
                            idx[ax[3]] = s;
                            out.push(a[&idx[..]] as i32);
                        }
                    }
                }
            }
            Ok(out)
        }
    }
}
