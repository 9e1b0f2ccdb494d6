//! `qnn.requantize` → core ops, bit-exact with the reference, and the one place scales become
//! requantization multipliers (shared by every lowering that requantizes).

use qnn_ir::{DType, FixedPointMultiplier, Node, Op, QuantParams, RequantScale, Rounding, ValueId};

use super::{Rewriter, axis_shape, unsupported};
use crate::error::LegalizeError;
use crate::record::{RecordKind, RequantizeParams, RequantizeRecord};

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

/// The axis parameters vary along (either side), with its length; `None` when both are per
/// tensor.
fn param_axis(a: &QuantParams, b: &QuantParams, shape: &[usize]) -> Option<(usize, usize)> {
    let pick = |q: &QuantParams| q.axis.filter(|_| q.channels() > 1);
    pick(a).or_else(|| pick(b)).map(|ax| (ax, shape[ax]))
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
) -> Result<(ValueId, RecordKind), LegalizeError> {
    let Op::QnnRequantize { input, output, rounding, out_dtype } = &node.op else { unreachable!() };
    let x_ty = rw.src().ty(node.inputs[0]).clone();
    let source = rw.value(node.inputs[0])?;
    let mut x = source;
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
    let record = |rw: &Rewriter<'_>, r: ValueId, params: RequantizeParams, single: bool| {
        let node = rw.producer(r);
        RecordKind::Requantize(RequantizeRecord { input: source, params, node, single })
    };
    if uniform(&zout) {
        let params = RequantizeParams {
            scale,
            axes,
            input_zero_point: zp_in as i32,
            output_zero_point: zout[0] as i32,
            out_dtype: *out_dtype,
        };
        let y = rw.node(out, Some(out), requantize_op(&params), &[x])?;
        let single = x == source;
        return Ok((y, record(rw, y, params, single)));
    }
    let Some((lo, hi)) = out_dtype.int_range().filter(|_| *out_dtype != DType::I32) else {
        return Err(unsupported(node, "per-channel output zero points with an i32 output"));
    };
    let (ax, c) = axis.expect("per-channel zero points have an axis");
    let (zmin, zmax) = (*zout.iter().min().unwrap(), *zout.iter().max().unwrap());
    let params = RequantizeParams {
        scale,
        axes,
        input_zero_point: zp_in as i32,
        output_zero_point: 0,
        out_dtype: DType::I32,
    };
    let r = rw.node(&format!("{n}.r"), None, requantize_op(&params), &[x])?;
    let kind = record(rw, r, params, false);
    let r = rw.node(
        &format!("{n}.rc"),
        None,
        Op::Clip { min: (lo - zmax) as f64, max: (hi - zmin) as f64 },
        &[r],
    )?;
    let z =
        rw.int_constant(&format!("{n}.zp_out"), DType::I32, &axis_shape(x_ty.rank(), ax, c), zout)?;
    let y = rw.node(&format!("{n}.rz"), None, Op::Add, &[r, z])?;
    Ok((rw.node(out, Some(out), Op::Cast { to: *out_dtype }, &[y])?, kind))
}

/// The core op of `p`.
pub(crate) fn requantize_op(p: &RequantizeParams) -> Op {
    Op::Requantize {
        scale: p.scale.clone(),
        axes: p.axes.clone(),
        input_zero_point: p.input_zero_point,
        output_zero_point: p.output_zero_point,
        out_dtype: p.out_dtype,
    }
}
