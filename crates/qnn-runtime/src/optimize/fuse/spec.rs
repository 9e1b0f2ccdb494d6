//! A chain → one [`ConvSpec`]: the frame's [`ConvProblem`] (NHWC geometry, operand dtypes,
//! pad value, fused data offset), OHWI weights and the [`EpilogueSpec`] (per-channel
//! constant, T3, requantize, clamp).
//!
//! What the frame cannot take stays outside the fused op, as ordinary nodes:
//! * the int8 data shift (`cast → add ±128 → cast`): the frame fuses a data offset only into
//!   the widening to int16, so the shift runs as an element-wise step before the conv;
//! * a requantize whose multipliers vary along another axis than the output channels, or
//!   whose output is not u8/i8/i32 (and the clip after it);
//! * a clip whose interval holds no value of the dtype (the reference reports that when it
//!   runs, and so does the compiled model).

use std::sync::Arc;

use qnn_ir::{DType, Graph, RequantScale};
use qnn_kernels::{ConvProblem, EpilogueSpec};
use qnn_legalize::Lowering;
use qnn_legalize::analysis::ConvForm;

use super::chain::ConvChain;
use super::subgraph::subgraph;
use crate::optimize::dataflow::{ConvKind, ConvSpec, clip_bounds};

/// The spec of `chain` in graph `g`, or why it cannot be fused.
pub(crate) fn conv_spec(g: &Graph, chain: &ConvChain) -> Result<ConvSpec, String> {
    let mut fused = Vec::new();
    let mut nodes = chain.body.clone();
    // The prologue, unless it is a shift the frame cannot fuse.
    let with_prologue = !chain.prologue.is_empty()
        && (chain.lowering == Lowering::Int16Upcast || chain.input_offset == 0);
    let (input, input_offset) = if with_prologue {
        if chain.input_offset != 0 {
            fused.push(format!("data offset {:+}", chain.input_offset));
        }
        fused.push(format!("widen {}→{}", g.ty(chain.input).dtype, chain.operands.0));
        nodes.extend(&chain.prologue);
        (chain.input, chain.input_offset)
    } else {
        (chain.operand, 0)
    };
    let (kind, out_c) = match &chain.form {
        ConvForm::Conv2d(a) => (ConvKind::Conv2d(a.data_layout), chain.geometry.out_c),
        ConvForm::Dense => (ConvKind::Dense, chain.geometry.out_c),
    };
    let channel_axis = match kind {
        ConvKind::Conv2d(l) => l.channel_axis(),
        ConvKind::Dense => g.ty(g.nodes[chain.core].output).rank() - 1,
    };
    // The requantize, unless the frame cannot take it (then neither the clip after it).
    let mut output = chain.body_output;
    let requant = chain.requantize.as_ref().filter(|(r, _)| {
        let per_channel_ok = r.axes.is_empty() || r.axes == [channel_axis];
        let len_ok = r.scale.len() == 1 || r.scale.len() == out_c;
        let dtype_ok = matches!(r.out_dtype, DType::U8 | DType::I8 | DType::I32);
        per_channel_ok && len_ok && dtype_ok
    });
    let out_dtype = requant.map_or(DType::I32, |(r, _)| r.out_dtype);
    let mut clamp = None;
    if let Some((_, n)) = requant {
        nodes.push(*n);
        output = g.nodes[*n].output;
        if let Some(((min, max), c)) = chain.clip
            && let Some(b) = clip_bounds(min, max, out_dtype)
        {
            clamp = Some(b);
            nodes.push(c);
            output = g.nodes[c].output;
        }
    }
    if g.ty(output).dtype != out_dtype {
        return Err(format!(
            "the fused output would be {out_dtype}, the graph's value is {}",
            g.ty(output).dtype
        ));
    }
    if chain.channel_constant.is_some() {
        fused.push("channel constant".into());
    }
    if chain.t3_zero_points.is_some() {
        fused.push("T3 window sums".into());
    }
    if let Some((r, _)) = requant {
        let mode = match &r.scale {
            RequantScale::Fixed { rounding, .. } => rounding.to_string(),
            RequantScale::Float { .. } => "float".into(),
        };
        fused.push(format!("requantize({mode}) → {}", r.out_dtype));
    }
    if let Some((lo, hi)) = clamp {
        fused.push(format!("clip [{lo}, {hi}]"));
    }
    let problem = ConvProblem {
        geometry: chain.geometry.clone(),
        data: g.ty(input).dtype,
        weight: chain.operands.1,
        pad_value: chain.pad_value - input_offset,
        data_offset: -input_offset,
    };
    problem.validate().map_err(|e| e.to_string())?;
    let epilogue = EpilogueSpec {
        bias: chain.channel_constant.clone().unwrap_or_else(|| vec![0]),
        t3_zero_point: chain.t3_zero_points.clone(),
        requant: requant.map(|(r, _)| r.scale.clone()),
        input_zero_point: requant.map_or(0, |(r, _)| r.input_zero_point),
        out_dtype,
        zero_point: requant.map_or(0, |(r, _)| r.output_zero_point),
        clamp,
    };
    nodes.sort_unstable();
    let unfused = Arc::new(subgraph(g, &nodes, &[input], output).map_err(|e| e.to_string())?);
    Ok(ConvSpec {
        name: g.nodes[chain.core].name.clone(),
        kind,
        lowering: chain.lowering,
        backend: chain.backend,
        problem,
        weights: chain.weights.clone(),
        epilogue,
        input,
        output,
        nodes,
        fused,
        unfused,
    })
}
