//! How the plan report names and describes a step.

use crate::optimize::dataflow::{ConvKind, ConvSpec, Dataflow, Vid};

/// A step's name from the lowered nodes it computes: their common stem (`conv1` for
/// `conv1.t1`, `conv1.c`, `conv1`), or the stems joined with `+` when it spans several. For
/// the report only: no decision depends on it.
pub(super) fn step_name(nodes: &[String]) -> String {
    let mut stems: Vec<&str> = Vec::new();
    for n in nodes {
        let stem = n.split(['.', '/']).next().unwrap_or(n);
        if !stems.contains(&stem) {
            stems.push(stem);
        }
    }
    match stems.len() {
        0 => String::new(),
        1..=3 => stems.join("+"),
        k => format!("{}+{}+… ({k} ops)", stems[0], stems[1]),
    }
}

/// A value's type and storage (`u8[1,56,56,24] NHWC`).
pub(super) fn layout_name(p: &Dataflow, v: Vid) -> String {
    let val = &p.values[v];
    format!("{}{}", val.ty, if val.nhwc { " NHWC" } else { "" })
}

/// What a fused conv/dense computes (`conv2d 3×3 s2 3→32`, `depthwise conv2d 3×3 8→8`,
/// `dense 256→100`).
pub(super) fn conv_op(spec: &ConvSpec) -> String {
    let g = &spec.problem.geometry;
    match spec.kind {
        ConvKind::Dense => format!("dense {}→{}", g.in_c, g.out_c),
        ConvKind::Conv2d(_) => format!(
            "{}conv2d {}×{}{} {}→{}",
            if g.is_depthwise() { "depthwise " } else { "" },
            g.kernel[0],
            g.kernel[1],
            if g.strides != [1, 1] { format!(" s{}", g.strides[0]) } else { String::new() },
            g.in_c,
            g.out_c
        ),
    }
}
