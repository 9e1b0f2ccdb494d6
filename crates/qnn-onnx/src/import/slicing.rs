//! Data movement of any element type (8-bit tensors between a QuantizeLinear and a
//! DequantizeLinear, or floats): `Slice` (negative and clamped indices, `axes`, steps of
//! either sign), `Split` (`split` sizes or equal parts, `num_outputs`), and
//! `DepthToSpace` (DCR / CRD) / `SpaceToDepth` as the reshape → transpose → reshape the ONNX
//! specification defines them by.

use qnn_ir::{Op, ValueId};

use super::context::Importer;
use super::node::{Form, Node};
use super::quantize::axis;
use crate::error::OnnxError;

pub(super) fn import(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    match n.op() {
        "Slice" => slice(im, n),
        "Split" => split(im, n),
        _ => depth_space(im, n),
    }
}

/// A 1-D INT32/INT64 constant input (Slice's and Split's since opsets 10 and 13).
fn ints_input(
    im: &Importer<'_>,
    n: &Node<'_>,
    i: usize,
    attr: &str,
) -> Result<Option<Vec<i64>>, OnnxError> {
    match im.opt_constant(n, i)? {
        None => Ok(None),
        Some(c) => c
            .ints()
            .map(|v| Some(v.into_owned()))
            .ok_or_else(|| n.input_error(i, format!("{attr} must be INT32 or INT64"))),
    }
}

fn slice(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(3, 5, 1)?;
    let x = im.value(n, 0)?;
    let shape = im.ty(x).shape;
    let rank = shape.len();
    let starts =
        ints_input(im, n, 1, "starts")?.ok_or_else(|| n.attrs.error("starts", "is required"))?;
    let ends = ints_input(im, n, 2, "ends")?.ok_or_else(|| n.attrs.error("ends", "is required"))?;
    let axes: Vec<usize> = match ints_input(im, n, 3, "axes")? {
        None => (0..starts.len()).collect(),
        Some(a) => a.iter().map(|&v| axis(n, "axes", v, rank)).collect::<Result<_, _>>()?,
    };
    let steps = match ints_input(im, n, 4, "steps")? {
        None => vec![1; starts.len()],
        Some(s) => s,
    };
    let k = starts.len();
    if ends.len() != k || axes.len() != k || steps.len() != k || k > rank {
        return Err(n.unsupported(format!(
            "starts {starts:?}, ends {ends:?}, axes {axes:?}, steps {steps:?}: expected one of each per sliced axis"
        )));
    }
    let mut op_starts = vec![0; rank];
    let mut op_steps = vec![1; rank];
    let mut sizes = shape.clone();
    for j in 0..k {
        let a = axes[j];
        if axes[..j].contains(&a) {
            return Err(n.attrs.error("axes", format!("axis {a} repeats")));
        }
        let (start, size) = resolve(starts[j], ends[j], steps[j], shape[a])
            .ok_or_else(|| n.input_error(4, format!("steps {steps:?}: a step is zero")))?;
        (op_starts[a], op_steps[a], sizes[a]) = (start, steps[j], size);
    }
    strided(im, n, x, op_starts, op_steps, sizes, n.output(0)?)?;
    Ok(Form::Shape)
}

/// ONNX Slice's (start, size) on one axis of `dim` elements: negative indices count from the
/// end, then clamp to `[0, dim]` (`[0, dim − 1]` / `[−1, dim − 1]` for negative steps).
/// `None` for a zero step.
fn resolve(start: i64, end: i64, step: i64, dim: usize) -> Option<(usize, usize)> {
    let d = dim as i128;
    let wrap = |v: i64| if v < 0 { i128::from(v) + d } else { i128::from(v) };
    let (s, e, t) = (wrap(start), wrap(end), i128::from(step));
    let (s, e) = match step.signum() {
        1 => (s.clamp(0, d), e.clamp(0, d)),
        -1 => (s.clamp(0, d - 1), e.clamp(-1, d - 1)),
        _ => return None,
    };
    // ceil((e − s) / t), at least 0.
    let size = ((e - s) + t - t.signum()) / t;
    let size = size.max(0) as usize;
    Some((if size == 0 { 0 } else { s as usize }, size))
}

/// `slice` named `name` and bound to it; an empty result is refused (qnn values are never
/// empty).
#[allow(clippy::too_many_arguments)]
fn strided(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: ValueId,
    starts: Vec<usize>,
    steps: Vec<i64>,
    sizes: Vec<usize>,
    name: &str,
) -> Result<(), OnnxError> {
    if sizes.contains(&0) {
        return Err(n.unsupported(format!(
            "the result {sizes:?} is empty: empty tensors are not supported"
        )));
    }
    let y = im.emit(n, name, Op::Slice { starts, steps, sizes }, &[x])?;
    im.bind(name, y);
    Ok(())
}

fn split(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    let outputs = n.p.output.len();
    n.arity(1, 2, outputs)?;
    let x = im.value(n, 0)?;
    let shape = im.ty(x).shape;
    let ax = axis(n, "axis", n.attrs.int_or("axis", 0)?, shape.len())?;
    let dim = shape[ax];
    let given =
        if im.m.opset < 13 { n.attrs.ints("split")? } else { ints_input(im, n, 1, "split")? };
    let num_outputs = n.attrs.int("num_outputs")?;
    let parts: Vec<usize> = match (given, num_outputs) {
        (Some(s), None) => {
            if s.len() != outputs || s.iter().any(|&v| v < 0) || s.iter().sum::<i64>() != dim as i64
            {
                return Err(n.input_error(
                    1,
                    format!("split {s:?}: expected {outputs} sizes ≥ 0 adding up to {dim}"),
                ));
            }
            s.iter().map(|&v| v as usize).collect()
        }
        (None, Some(k)) if k as usize == outputs && k > 0 => {
            // Opset 18: parts of ⌈dim / k⌉, the last one smaller.
            let part = dim.div_ceil(outputs);
            (0..outputs).map(|i| part.min(dim.saturating_sub(i * part))).collect()
        }
        (None, None) if dim.is_multiple_of(outputs) => vec![dim / outputs; outputs],
        (given, k) => {
            return Err(n.unsupported(format!(
                "split {given:?}, num_outputs {k:?}: cannot split {dim} elements into {outputs} outputs"
            )));
        }
    };
    let mut offset = 0;
    for (i, &part) in parts.iter().enumerate() {
        let mut starts = vec![0; shape.len()];
        let mut sizes = shape.clone();
        (starts[ax], sizes[ax]) = (offset, part);
        offset += part;
        let Some(out) = n.p.output.get(i).filter(|o| !o.is_empty()) else {
            continue;
        };
        strided(im, n, x, starts, vec![1; shape.len()], sizes, out)?;
    }
    Ok(Form::Shape)
}

fn depth_space(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(1, 1, 1)?;
    let x = im.value(n, 0)?;
    let shape = im.ty(x).shape;
    let [b, c, h, w] = shape[..] else {
        return Err(n.input_error(0, format!("shape {shape:?}: expected N, C, H, W")));
    };
    let bs = n.attrs.int("blocksize")?.ok_or_else(|| n.attrs.error("blocksize", "is required"))?;
    let k = usize::try_from(bs)
        .ok()
        .filter(|&k| k > 0)
        .ok_or_else(|| n.attrs.error("blocksize", format!("{bs} must be positive")))?;
    let out = n.output(0)?;
    let (split_shape, perm, out_shape) = if n.op() == "DepthToSpace" {
        let mode = n.attrs.string("mode")?.unwrap_or_else(|| "DCR".into());
        if !c.is_multiple_of(k * k) {
            return Err(n.input_error(
                0,
                format!("{c} channels are not a multiple of blocksize² = {}", k * k),
            ));
        }
        let cc = c / (k * k);
        let out_shape = vec![b, cc, h * k, w * k];
        match mode.as_str() {
            "DCR" => (vec![b, k, k, cc, h, w], vec![0, 3, 4, 1, 5, 2], out_shape),
            "CRD" => (vec![b, cc, k, k, h, w], vec![0, 1, 4, 2, 5, 3], out_shape),
            m => return Err(n.attrs.error("mode", format!("`{m}`: expected DCR or CRD"))),
        }
    } else {
        if !h.is_multiple_of(k) || !w.is_multiple_of(k) {
            return Err(n.input_error(0, format!("{h}×{w} is not a multiple of blocksize {k}")));
        }
        (vec![b, c, h / k, k, w / k, k], vec![0, 3, 5, 1, 2, 4], vec![b, c * k * k, h / k, w / k])
    };
    let split = im.emit(n, &format!("{out}/blocks"), Op::Reshape { shape: split_shape }, &[x])?;
    let moved = im.emit(n, &format!("{out}/moved"), Op::Transpose { perm }, &[split])?;
    let y = im.emit(n, out, Op::Reshape { shape: out_shape }, &[moved])?;
    im.bind(out, y);
    Ok(Form::Shape)
}
