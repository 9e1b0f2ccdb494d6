//! `qnn.requantize`, `qnn.quantize`, `qnn.dequantize`, `qnn.clip`, `qnn.relu` → core ops,
//! bit-exact with the reference definition of each (qnn-ir `reference`).

use qnn_ir::{DType, FixedPointMultiplier, Node, Op, QuantParams, RequantScale, Rounding, ValueId};

use super::Rewriter;
use crate::error::LegalizeError;

/// The multipliers of a requantization with `rounding`: fixed modes take `real` (the ratio in
/// f64) through `FixedPointMultiplier::from_real`; float mode takes `float` (the f32 ratio as
/// ONNX Runtime computes it). One `(real, float)` pair per multiplier. This is the one place
/// the lowering turns scales into multipliers, exactly as the reference does.
pub(crate) fn requant_scale(
    node: &Node,
    rounding: Rounding,
    ratios: &[(f64, f32)],
) -> Result<RequantScale, LegalizeError> {
    Ok(match rounding.fixed() {
        Some(fixed) => RequantScale::Fixed {
            mults: ratios
                .iter()
                .map(|&(real, _)| {
                    FixedPointMultiplier::from_real(real)
                        .map_err(|e| unsupported_mult(node, real, e))
                })
                .collect::<Result<_, _>>()?,
            rounding: fixed,
        },
        None => RequantScale::Float { mults: ratios.iter().map(|&(_, f)| f).collect() },
    })
}

fn unsupported_mult(node: &Node, real: f64, e: qnn_ir::IrError) -> LegalizeError {
    LegalizeError::Unsupported {
        op: node.op.name().into(),
        node: node.name.clone(),
        what: format!("requantization multiplier {real:e}: {e}"),
    }
}

pub(crate) fn unsupported(node: &Node, what: impl Into<String>) -> LegalizeError {
    LegalizeError::Unsupported {
        op: node.op.name().into(),
        node: node.name.clone(),
        what: what.into(),
    }
}

/// The axis parameters vary along (either side), with its length; `None` when both are per
/// tensor.
fn param_axis(a: &QuantParams, b: &QuantParams, shape: &[usize]) -> Option<(usize, usize)> {
    let pick = |q: &QuantParams| q.axis.filter(|_| q.channels() > 1);
    pick(a).or_else(|| pick(b)).map(|ax| (ax, shape[ax]))
}

/// Shape of a per-axis constant for a tensor of rank `rank`: `[n, 1, …, 1]` with the ones
/// after `axis`.
pub(crate) fn axis_shape(rank: usize, axis: usize, n: usize) -> Vec<usize> {
    let mut s = vec![n];
    s.extend(std::iter::repeat_n(1, rank - 1 - axis));
    s
}

/// `qnn.requantize` → core `requantize` (per-channel multipliers along the parameters' axis).
/// A per-channel input zero point is subtracted first (in i32); a per-channel output zero
/// point is added after requantizing to i32 with zero point 0, clipped to
/// `[lo − max zp, hi − min zp]` and saturating-cast: `clamp(zp + clamp(r, L, H)) =
/// clamp(zp + r)` for those `L`, `H`, and every step then fits i32.
pub(crate) fn lower_requantize(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<ValueId, LegalizeError> {
    let Op::QnnRequantize { input, output, rounding, out_dtype } = &node.op else { unreachable!() };
    let x_ty = rw.src().ty(node.inputs[0]).clone();
    let mut x = rw.value(node.inputs[0])?;
    let n = &node.name;
    let axis = param_axis(input, output, &x_ty.shape);
    let channels = axis.map_or(1, |(_, c)| c);
    let ratios: Vec<(f64, f32)> = (0..channels)
        .map(|k| {
            let (si, so) = (input.scale_at(k), output.scale_at(k));
            (f64::from(si) / f64::from(so), si / so)
        })
        .collect();
    let scale = requant_scale(node, *rounding, &ratios)?;
    let axes: Vec<usize> = axis.filter(|_| scale.len() > 1).map(|(a, _)| a).into_iter().collect();
    let zin: Vec<i64> = (0..channels).map(|k| i64::from(input.zero_point_at(k))).collect();
    let zout: Vec<i64> = (0..channels).map(|k| i64::from(output.zero_point_at(k))).collect();
    let uniform = |v: &[i64]| v.iter().all(|&z| z == v[0]);
    let mut zp_in = zin[0];
    if !uniform(&zin) {
        if x_ty.dtype == DType::I32 {
            return Err(unsupported(
                node,
                "per-channel input zero points on an i32 input (x − zp may leave i32)",
            ));
        }
        let (ax, c) = axis.expect("per-channel zero points have an axis");
        x = rw.node(&format!("{n}.x32"), None, Op::Cast { to: DType::I32 }, &[x])?;
        let z = rw.int_constant(
            &format!("{n}.zp_in"),
            DType::I32,
            &axis_shape(x_ty.rank(), ax, c),
            zin,
        )?;
        x = rw.node(&format!("{n}.xz"), None, Op::Subtract, &[x, z])?;
        zp_in = 0;
    }
    if uniform(&zout) {
        let op = Op::Requantize {
            scale,
            axes,
            input_zero_point: zp_in as i32,
            output_zero_point: zout[0] as i32,
            out_dtype: *out_dtype,
        };
        return rw.node(out, Some(out), op, &[x]);
    }
    let Some((lo, hi)) = out_dtype.int_range().filter(|_| *out_dtype != DType::I32) else {
        return Err(unsupported(node, "per-channel output zero points with an i32 output"));
    };
    let (ax, c) = axis.expect("per-channel zero points have an axis");
    let (zmin, zmax) = (*zout.iter().min().unwrap(), *zout.iter().max().unwrap());
    let op = Op::Requantize {
        scale,
        axes,
        input_zero_point: zp_in as i32,
        output_zero_point: 0,
        out_dtype: DType::I32,
    };
    let r = rw.node(&format!("{n}.r"), None, op, &[x])?;
    let r = rw.node(
        &format!("{n}.rc"),
        None,
        Op::Clip { min: (lo - zmax) as f64, max: (hi - zmin) as f64 },
        &[r],
    )?;
    let z =
        rw.int_constant(&format!("{n}.zp_out"), DType::I32, &axis_shape(x_ty.rank(), ax, c), zout)?;
    let y = rw.node(&format!("{n}.rz"), None, Op::Add, &[r, z])?;
    rw.node(out, Some(out), Op::Cast { to: *out_dtype }, &[y])
}

/// Per-element (scale, zero point) constants of `q` for a tensor of `shape`: scalars, or
/// `[C, 1, …]` along the axis.
fn param_consts(q: &QuantParams, shape: &[usize]) -> (Vec<usize>, Vec<f32>, Vec<i64>) {
    match q.axis.filter(|_| q.channels() > 1) {
        None => (vec![], vec![q.scale[0]], vec![i64::from(q.zero_point[0])]),
        Some(ax) => {
            let c = shape[ax];
            (
                axis_shape(shape.len(), ax, c),
                (0..c).map(|k| q.scale_at(k)).collect(),
                (0..c).map(|k| i64::from(q.zero_point_at(k))).collect(),
            )
        }
    }
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
) -> Result<ValueId, LegalizeError> {
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
    let (cshape, scales, zps) = param_consts(output, &shape);
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
        return rw.node(out, Some(out), Op::Cast { to: *out_dtype }, &[q]);
    }
    let q = rw.node(&format!("{n}.addzp"), None, Op::Add, &[q, z])?;
    let q = rw.node(&format!("{n}.i32"), None, Op::Cast { to: DType::I32 }, &[q])?;
    let q =
        rw.node(&format!("{n}.clip"), None, Op::Clip { min: 0.0, max: (hi - lo) as f64 }, &[q])?;
    let l = rw.scalar(&format!("{n}.lo"), DType::I32, lo)?;
    let q = rw.node(&format!("{n}.unshift"), None, Op::Add, &[q, l])?;
    rw.node(out, Some(out), Op::Cast { to: *out_dtype }, &[q])
}

/// `qnn.dequantize`: `f32(x − zp) · s` as `cast(i32) → [subtract zp] → cast(f32) → multiply`.
/// `x − zp` is exact in i32 for 8/16-bit inputs; an i32 input needs zero points 0.
pub(crate) fn lower_dequantize(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<ValueId, LegalizeError> {
    let Op::QnnDequantize { input } = &node.op else { unreachable!() };
    let ty = rw.src().ty(node.inputs[0]).clone();
    let n = &node.name;
    let (cshape, scales, zps) = param_consts(input, &ty.shape);
    let with_zp = zps.iter().any(|&z| z != 0);
    if with_zp && ty.dtype == DType::I32 {
        return Err(unsupported(
            node,
            "a nonzero zero point on an i32 input (x − zp may leave i32)",
        ));
    }
    let mut x = rw.value(node.inputs[0])?;
    if ty.dtype != DType::I32 {
        x = rw.node(&format!("{n}.i32"), None, Op::Cast { to: DType::I32 }, &[x])?;
    }
    if with_zp {
        let z = rw.int_constant(&format!("{n}.zp"), DType::I32, &cshape, zps)?;
        x = rw.node(&format!("{n}.xz"), None, Op::Subtract, &[x, z])?;
    }
    let f = rw.node(&format!("{n}.f32"), None, Op::Cast { to: DType::F32 }, &[x])?;
    let s = rw.f32_constant(&format!("{n}.scale"), &cshape, scales)?;
    rw.node(out, Some(out), Op::Multiply, &[f, s])
}

/// `qnn.clip` → `clip` to `[zp + rne(min/s), zp + rne(max/s)] ∩ dtype` (quotients in f32).
pub(crate) fn lower_clip(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<ValueId, LegalizeError> {
    let Op::QnnClip { min, max, q } = &node.op else { unreachable!() };
    let dtype = rw.src().ty(node.inputs[0]).dtype;
    let (lo, hi) = dtype.int_range().expect("8-bit input");
    let (scale, zp) = (q.scale[0], i64::from(q.zero_point[0]));
    let bound =
        |real: f32| ((real / scale).round_ties_even() as i64).saturating_add(zp).clamp(lo, hi);
    let x = rw.value(node.inputs[0])?;
    rw.node(out, Some(out), Op::Clip { min: bound(*min) as f64, max: bound(*max) as f64 }, &[x])
}

/// `qnn.relu` → `clip` to `[zp, dtype max]`.
pub(crate) fn lower_relu(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<ValueId, LegalizeError> {
    let Op::QnnRelu { q } = &node.op else { unreachable!() };
    let dtype = rw.src().ty(node.inputs[0]).dtype;
    let (_, hi) = dtype.int_range().expect("8-bit input");
    let x = rw.value(node.inputs[0])?;
    rw.node(out, Some(out), Op::Clip { min: f64::from(q.zero_point[0]), max: hi as f64 }, &[x])
}
