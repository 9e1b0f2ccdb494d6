//! `qnn.quantize`, `qnn.dequantize` → core ops, bit-exact with the reference.

use qnn_ir::{DType, Node, Op, QuantParams, ValueId};

use super::{Rewriter, axis_shape, unsupported};
use crate::error::LegalizeError;
use crate::record::{ChannelParams, DequantizeRecord, QuantizeRecord, RecordKind};

/// Per-element (scale, zero point) constants of `q` for a tensor of `shape`: scalars, or
/// `[C, 1, …]` along the axis; with the parameters as the record gives them.
fn param_consts(
    q: &QuantParams,
    shape: &[usize],
) -> (Vec<usize>, Vec<f32>, Vec<i64>, ChannelParams) {
    let (cshape, scale, zp, axis) = match q.axis.filter(|_| q.channels() > 1) {
        None => (vec![], vec![q.scale[0]], vec![i64::from(q.zero_point[0])], None),
        Some(ax) => {
            let c = shape[ax];
            (
                axis_shape(shape.len(), ax, c),
                (0..c).map(|k| q.scale_at(k)).collect(),
                (0..c).map(|k| i64::from(q.zero_point_at(k))).collect(),
                Some(ax),
            )
        }
    };
    let params = ChannelParams {
        scale: scale.clone(),
        zero_point: zp.iter().map(|&z| z as i32).collect(),
        axis,
    };
    (cshape, scale, zp, params)
}

/// `qnn.quantize`: reference `clamp_f32(rne(x / s) + f32(zp))`, NaN → the bottom `lo` of
/// the range. u8 (`lo = 0`): `divide → round → add zp → cast` (cast maps NaN to 0 = lo).
/// i8/i16: the add takes `zp − lo` instead and the rest runs shifted by `−lo`:
/// `cast(i32) → clip [0, hi − lo] → add lo → cast`, so NaN (cast to 0) lands on `lo`. The
/// f32 adds are exact below 2^24 and saturate the same way above it (the range is < 2^17).
pub(crate) fn lower_quantize(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<(ValueId, RecordKind), LegalizeError> {
    let Op::QnnQuantize { output, out_dtype } = &node.op else { unreachable!() };
    let shape = rw.src().ty(node.inputs[0]).shape.clone();
    let n = &node.name;
    let x = rw.value(node.inputs[0])?;
    let (lo, hi) = out_dtype.int_range().expect("integer out_dtype");
    if *out_dtype == DType::I32 {
        return Err(unsupported(
            node,
            "quantize to i32 (NaN must map to i32::MIN, which no core op sequence gives exactly)",
        ));
    }
    let (cshape, scales, zps, params) = param_consts(output, &shape);
    let record = RecordKind::Quantize(QuantizeRecord { input: x, params, out_dtype: *out_dtype });
    let s = rw.f32_constant(&format!("{n}.scale"), &cshape, scales)?;
    let q = rw.node(&format!("{n}.div"), None, Op::Divide, &[x, s])?;
    let q = rw.node(&format!("{n}.round"), None, Op::Round, &[q])?;
    let z = rw.f32_constant(
        &format!("{n}.zp"),
        &cshape,
        zps.iter().map(|&z| (z - lo) as f32).collect(),
    )?;
    if lo == 0 {
        let q = rw.node(&format!("{n}.addzp"), None, Op::Add, &[q, z])?;
        return Ok((rw.node(out, Some(out), Op::Cast { to: *out_dtype }, &[q])?, record));
    }
    let q = rw.node(&format!("{n}.addzp"), None, Op::Add, &[q, z])?;
    let q = rw.node(&format!("{n}.i32"), None, Op::Cast { to: DType::I32 }, &[q])?;
    let q =
        rw.node(&format!("{n}.clip"), None, Op::Clip { min: 0.0, max: (hi - lo) as f64 }, &[q])?;
    let l = rw.scalar(&format!("{n}.lo"), DType::I32, lo)?;
    let q = rw.node(&format!("{n}.unshift"), None, Op::Add, &[q, l])?;
    Ok((rw.node(out, Some(out), Op::Cast { to: *out_dtype }, &[q])?, record))
}

/// `qnn.dequantize`: `f32(x − zp) · s` as `cast(i32) → [subtract zp] → cast(f32) → multiply`.
/// `x − zp` is exact in i32 for 8/16-bit inputs; an i32 input needs zero points 0.
pub(crate) fn lower_dequantize(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<(ValueId, RecordKind), LegalizeError> {
    let Op::QnnDequantize { input } = &node.op else { unreachable!() };
    let ty = rw.src().ty(node.inputs[0]).clone();
    let n = &node.name;
    let (cshape, scales, zps, params) = param_consts(input, &ty.shape);
    let with_zp = zps.iter().any(|&z| z != 0);
    if with_zp && ty.dtype == DType::I32 {
        return Err(unsupported(
            node,
            "a nonzero zero point on an i32 input (x − zp may leave i32)",
        ));
    }
    let mut x = rw.value(node.inputs[0])?;
    let record = RecordKind::Dequantize(DequantizeRecord { input: x, params });
    if ty.dtype != DType::I32 {
        x = rw.node(&format!("{n}.i32"), None, Op::Cast { to: DType::I32 }, &[x])?;
    }
    if with_zp {
        let z = rw.int_constant(&format!("{n}.zp"), DType::I32, &cshape, zps)?;
        x = rw.node(&format!("{n}.xz"), None, Op::Subtract, &[x, z])?;
    }
    let f = rw.node(&format!("{n}.f32"), None, Op::Cast { to: DType::F32 }, &[x])?;
    let s = rw.f32_constant(&format!("{n}.scale"), &cshape, scales)?;
    Ok((rw.node(out, Some(out), Op::Multiply, &[f, s])?, record))
}
