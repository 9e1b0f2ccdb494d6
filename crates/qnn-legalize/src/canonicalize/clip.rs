//! `qnn.clip`, `qnn.relu` → core `clip`, bit-exact with the reference.

use qnn_ir::{Node, Op, ValueId};

use super::Rewriter;
use crate::error::LegalizeError;
use crate::record::{ClipRecord, RecordKind};

/// `qnn.clip` → `clip` to `[zp + rne(min/s), zp + rne(max/s)] ∩ dtype` (quotients in f32).
pub(crate) fn lower_clip(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<(ValueId, RecordKind), LegalizeError> {
    let Op::QnnClip { min, max, q } = &node.op else { unreachable!() };
    let dtype = rw.src().ty(node.inputs[0]).dtype;
    let (lo, hi) = dtype.int_range().expect("8-bit input");
    let (scale, zp) = (q.scale[0], i64::from(q.zero_point[0]));
    let bound =
        |real: f32| ((real / scale).round_ties_even() as i64).saturating_add(zp).clamp(lo, hi);
    let x = rw.value(node.inputs[0])?;
    clip(rw, x, bound(*min), bound(*max), out)
}

/// `qnn.relu` → `clip` to `[zp, dtype max]`.
pub(crate) fn lower_relu(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<(ValueId, RecordKind), LegalizeError> {
    let Op::QnnRelu { q } = &node.op else { unreachable!() };
    let dtype = rw.src().ty(node.inputs[0]).dtype;
    let (_, hi) = dtype.int_range().expect("8-bit input");
    let x = rw.value(node.inputs[0])?;
    clip(rw, x, i64::from(q.zero_point[0]), hi, out)
}

/// `clip(x, [min, max])` named `out`, and its record.
fn clip(
    rw: &mut Rewriter<'_>,
    x: ValueId,
    min: i64,
    max: i64,
    out: &str,
) -> Result<(ValueId, RecordKind), LegalizeError> {
    let y = rw.node(out, Some(out), Op::Clip { min: min as f64, max: max as f64 }, &[x])?;
    Ok((y, RecordKind::Clip(ClipRecord { input: x, min, max })))
}
