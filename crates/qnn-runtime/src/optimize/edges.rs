//! The conversions at the graph's edges, fused with the quantization next to them: a layout
//! transpose that alone reads the output of a typed quantize step (the graph input's
//! `QuantizeLinear`, then NCHW → NHWC) becomes one quantizing transpose, reading the f32
//! input and writing the NHWC 8-bit tensor; one that alone reads a typed dequantize step's
//! output (an NHWC model output dequantized, then back to NCHW) one dequantizing transpose.
//! The frame's `TransposePlan` computes both with the quantize / dequantize formulas of the
//! element-wise kernels, so nothing changes but the passes over memory.

use std::collections::{HashMap, HashSet};

use qnn_ir::backend::TransposeConvert;
use qnn_kernels::ElementwiseSpec;

use crate::optimize::dataflow::{DataOp, DataSpec, Dataflow, Step, StepKind, Vid};

/// `p` with each (quantize → transpose) and (dequantize → transpose) pair of typed steps
/// as one converting transpose.
pub(crate) fn fuse_edges(mut p: Dataflow) -> Dataflow {
    let mut readers: HashMap<Vid, Vec<usize>> = HashMap::new();
    let mut producer: HashMap<Vid, usize> = HashMap::new();
    for (i, s) in p.steps.iter().enumerate() {
        s.inputs.iter().for_each(|&v| readers.entry(v).or_default().push(i));
        producer.insert(s.output, i);
    }
    let outputs: HashSet<Vid> = p.outputs.iter().copied().collect();
    let mut merged: HashMap<usize, Step> = HashMap::new();
    let mut removed: HashSet<usize> = HashSet::new();
    for (t, step) in p.steps.iter().enumerate() {
        let StepKind::Data(d) = &step.kind else { continue };
        let DataOp::Transpose { perm, convert: TransposeConvert::None } = &d.op else { continue };
        let v = step.inputs[0];
        let Some(&q) = producer.get(&v) else { continue };
        if readers.get(&v).is_none_or(|r| r != &[t]) || outputs.contains(&v) {
            continue;
        }
        let conversion = &p.steps[q];
        let StepKind::Data(qd) = &conversion.kind else { continue };
        let convert = match qd.op {
            DataOp::Elementwise(ElementwiseSpec::Quantize { scale, zero_point, lo, hi }) => {
                TransposeConvert::Quantize { scale, zero_point, lo, hi }
            }
            DataOp::Elementwise(ElementwiseSpec::Dequantize { zero_point, scale }) => {
                TransposeConvert::Dequantize { zero_point, scale }
            }
            _ => continue,
        };
        let what = if matches!(convert, TransposeConvert::Quantize { .. }) {
            "quantizing"
        } else {
            "dequantizing"
        };
        let spec = DataSpec {
            op: DataOp::Transpose { perm: perm.clone(), convert },
            nodes: qd.nodes.clone(),
            unfused: qd.unfused.clone(),
        };
        let note = format!("stores transposed: one {what} transpose ({})", step.note);
        merged.insert(
            t,
            Step {
                name: conversion.name.clone(),
                kind: StepKind::Data(Box::new(spec)),
                inputs: conversion.inputs.clone(),
                output: step.output,
                nodes: conversion.nodes.clone(),
                note,
            },
        );
        removed.insert(q);
    }
    let old = std::mem::take(&mut p.steps);
    p.steps = old
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(i))
        .map(|(i, s)| merged.remove(&i).unwrap_or(s))
        .collect();
    p
}
