//! ONNX `Pad` beyond constant padding with non-negative pads, composed of core ops:
//! negative pads crop (a `slice`), then every axis is padded on its own — `edge` repeats the
//! border element, `reflect` mirrors the elements next to the border (`x[b], …, x[1]` before,
//! `x[d − 2], …` after), `wrap` (opset 19) continues from the other end — each a
//! concatenation of slices of the input. These modes map every output index to an input
//! index axis by axis, so padding the axes one after another gives ORT's corners.

use qnn_ir::{Op, ValueId};

use super::context::Importer;
use super::node::Node;
use crate::error::OnnxError;

/// `x` padded by `pads[axis] = [before, after]` (negative: cropped) in `mode` (`constant`,
/// `edge`, `reflect` or `wrap`, checked by the caller); `value` for `constant`.
pub(super) fn build(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: ValueId,
    mode: &str,
    pads: &[[i64; 2]],
    value: f64,
) -> Result<ValueId, OnnxError> {
    if !matches!(mode, "constant" | "edge" | "reflect" | "wrap") {
        return Err(n
            .attrs
            .error("mode", format!("`{mode}`: expected constant, edge, reflect or wrap")));
    }
    let out = n.output(0)?;
    let shape = im.ty(x).shape;
    let rank = shape.len();
    // Crop first.
    let mut starts = vec![0; rank];
    let mut sizes = shape.clone();
    for (a, &[b, e]) in pads.iter().enumerate() {
        let cut = (-b).max(0) as u128 + (-e).max(0) as u128;
        if cut >= shape[a] as u128 {
            return Err(n.input_error(
                1,
                format!("pads {pads:?} crop all {} elements of axis {a}", shape[a]),
            ));
        }
        starts[a] = (-b).max(0) as usize;
        sizes[a] -= cut as usize;
    }
    let mut y = x;
    if sizes != shape {
        let crop = Op::Slice { starts, steps: vec![1; rank], sizes: sizes.clone() };
        y = im.emit(n, &format!("{out}/crop"), crop, &[y])?;
    }
    if mode == "constant" {
        let grow = pads.iter().map(|&[b, e]| [b.max(0) as usize, e.max(0) as usize]).collect();
        return im.emit(n, out, Op::Pad { pads: grow, value }, &[y]);
    }
    let last = (0..rank).rev().find(|&a| pads[a][0] > 0 || pads[a][1] > 0);
    for a in 0..rank {
        let (b, e) = (pads[a][0].max(0) as usize, pads[a][1].max(0) as usize);
        if b == 0 && e == 0 {
            continue;
        }
        let d = sizes[a];
        let limit = match mode {
            "reflect" => d - 1,
            "wrap" => d,
            _ => usize::MAX,
        };
        if b > limit || e > limit {
            return Err(n.input_error(1, format!(
                "pads {pads:?}: {mode} padding of axis {a} by more than {limit} (its length {d} after cropping) is not supported"
            )));
        }
        // (start, step, size) of the part before and the part after, along axis `a`.
        let (before, after) = match mode {
            "edge" => ((0, 1, 1), (d - 1, 1, 1)),
            "reflect" => ((b, -1, b), (d.saturating_sub(2), -1, e)),
            _ => ((d - b, 1, b), (0, 1, e)),
        };
        let mut parts = Vec::new();
        for (side, (start, step, size), count) in [("before", before, b), ("after", after, e)] {
            if count == 0 {
                if side == "before" {
                    parts.push(y);
                }
                continue;
            }
            let mut starts = vec![0; rank];
            let mut steps = vec![1; rank];
            let mut part = sizes.clone();
            (starts[a], steps[a], part[a]) = (start, step, size);
            let op = Op::Slice { starts, steps, sizes: part };
            let v = im.emit(n, &format!("{out}/{side}{a}"), op, &[y])?;
            // Edge padding repeats the one border slice.
            let copies = if mode == "edge" { count } else { 1 };
            parts.extend(std::iter::repeat_n(v, copies));
            if side == "before" {
                parts.push(y);
            }
        }
        let name = if Some(a) == last { out.to_string() } else { format!("{out}/axis{a}") };
        y = im.emit(n, &name, Op::Concatenate { axis: a }, &parts)?;
        sizes[a] += b + e;
    }
    Ok(y)
}
