//! `qnn.add`, `qnn.mul`, `qnn.concatenate` → core ops, bit-exact with the reference.

use qnn_ir::{DType, Node, Op, Rounding, ValueId};

use super::Rewriter;
use super::requantize::{requant_scale, unsupported};
use crate::error::LegalizeError;

/// `qnn.add`.
///
/// Fixed modes (reference: `clamp(zp_o + round(M_a·(a − zp_a)) + round(M_b·(b − zp_b)))`):
/// `requantize(a → i32, zp_out 0)`, `requantize(b → i32, zp_out zp_o)`, `add`, saturating
/// `cast`. Exact when every partial result stays in i32, which is checked here from
/// `|a − zp_a| ≤ 255`: `255·(M_a + M_b) + 4 + |zp_o| < 2^31`.
///
/// Float mode (reference: `clamp(rne(f32(a − zp_a)·m_a + f32(b − zp_b)·m_b) + f32(zp_o))` in
/// f32): `cast(f32) → subtract zp → multiply m` per operand (exact up to the multiply, which
/// rounds as the reference's does), `add`, `round`, `add zp_o`, saturating `cast`.
pub(crate) fn lower_add(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<ValueId, LegalizeError> {
    let Op::QnnAdd { lhs, rhs, output, rounding, out_dtype } = &node.op else { unreachable!() };
    let n = &node.name;
    let (sa, sb, so) = (lhs.scale[0], rhs.scale[0], output.scale[0]);
    let (za, zb, zo) = (lhs.zero_point[0], rhs.zero_point[0], output.zero_point[0]);
    let (a, b) = (rw.value(node.inputs[0])?, rw.value(node.inputs[1])?);
    let ratios =
        [(f64::from(sa) / f64::from(so), sa / so), (f64::from(sb) / f64::from(so), sb / so)];
    if *rounding == Rounding::Float {
        let (ma, mb) = (ratios[0].1, ratios[1].1);
        if !(255.0 * (ma + mb)).is_finite() {
            return Err(unsupported(node, format!("f32 multipliers {ma:e}, {mb:e} overflow f32")));
        }
        let fa = float_operand(rw, n, "a", a, za, ma)?;
        let fb = float_operand(rw, n, "b", b, zb, mb)?;
        let s = rw.node(&format!("{n}.sum"), None, Op::Add, &[fa, fb])?;
        let r = rw.node(&format!("{n}.round"), None, Op::Round, &[s])?;
        let z = rw.f32_constant(&format!("{n}.zp"), &[], vec![zo as f32])?;
        let r = rw.node(&format!("{n}.addzp"), None, Op::Add, &[r, z])?;
        return rw.node(out, Some(out), Op::Cast { to: *out_dtype }, &[r]);
    }
    let bound = 255.0 * (ratios[0].0 + ratios[1].0) + 4.0 + f64::from(zo.unsigned_abs());
    if bound >= 2f64.powi(31) {
        return Err(unsupported(
            node,
            format!("multipliers {:e}, {:e} can take the sum past i32", ratios[0].0, ratios[1].0),
        ));
    }
    let ma = requant_scale(node, *rounding, &ratios[..1])?;
    let mb = requant_scale(node, *rounding, &ratios[1..])?;
    let req = |scale, zin: i32, zout: i32| Op::Requantize {
        scale,
        axes: vec![],
        input_zero_point: zin,
        output_zero_point: zout,
        out_dtype: DType::I32,
    };
    let l = rw.node(&format!("{n}.a"), None, req(ma, za, 0), &[a])?;
    let r = rw.node(&format!("{n}.b"), None, req(mb, zb, zo), &[b])?;
    let s = rw.node(&format!("{n}.sum"), None, Op::Add, &[l, r])?;
    rw.node(out, Some(out), Op::Cast { to: *out_dtype }, &[s])
}

/// `f32(x − zp) · m`: `cast(f32) → [subtract zp] → multiply m` (8-bit values and zero points
/// are exact in f32, so the subtraction is exact).
fn float_operand(
    rw: &mut Rewriter<'_>,
    n: &str,
    which: &str,
    x: ValueId,
    zp: i32,
    m: f32,
) -> Result<ValueId, LegalizeError> {
    let mut f = rw.node(&format!("{n}.{which}f"), None, Op::Cast { to: DType::F32 }, &[x])?;
    if zp != 0 {
        let z = rw.f32_constant(&format!("{n}.{which}zp"), &[], vec![zp as f32])?;
        f = rw.node(&format!("{n}.{which}z"), None, Op::Subtract, &[f, z])?;
    }
    let mc = rw.f32_constant(&format!("{n}.{which}m"), &[], vec![m])?;
    rw.node(&format!("{n}.{which}s"), None, Op::Multiply, &[f, mc])
}

/// `(x − zp)` in i32: `cast(i32) → [subtract zp]`.
fn centered(
    rw: &mut Rewriter<'_>,
    n: &str,
    which: &str,
    x: ValueId,
    zp: i32,
) -> Result<ValueId, LegalizeError> {
    let c = rw.node(&format!("{n}.{which}32"), None, Op::Cast { to: DType::I32 }, &[x])?;
    if zp == 0 {
        return Ok(c);
    }
    let z = rw.scalar(&format!("{n}.{which}zp"), DType::I32, i64::from(zp))?;
    rw.node(&format!("{n}.{which}z"), None, Op::Subtract, &[c, z])
}

/// `qnn.mul`: `(a − zp_a)·(b − zp_b)` in i32 (|·| ≤ 255² for 8-bit operands), then
/// `requantize` with `M = s_a·s_b / s_o` (fixed: f64; float: `f32(f32(s_a·s_b) / s_o)`).
pub(crate) fn lower_mul(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<ValueId, LegalizeError> {
    let Op::QnnMul { lhs, rhs, output, rounding, out_dtype } = &node.op else { unreachable!() };
    let n = &node.name;
    let (sa, sb, so) = (lhs.scale[0], rhs.scale[0], output.scale[0]);
    let (a, b) = (rw.value(node.inputs[0])?, rw.value(node.inputs[1])?);
    let ca = centered(rw, n, "a", a, lhs.zero_point[0])?;
    let cb = centered(rw, n, "b", b, rhs.zero_point[0])?;
    let p = rw.node(&format!("{n}.product"), None, Op::Multiply, &[ca, cb])?;
    let real = f64::from(sa) * f64::from(sb) / f64::from(so);
    let scale = requant_scale(node, *rounding, &[(real, (sa * sb) / so)])?;
    let op = Op::Requantize {
        scale,
        axes: vec![],
        input_zero_point: 0,
        output_zero_point: output.zero_point[0],
        out_dtype: *out_dtype,
    };
    rw.node(out, Some(out), op, &[p])
}

/// `qnn.concatenate`: each input requantized to the output parameters (or only cast, which
/// saturates like the reference's clamp, where its parameters equal the output's), then
/// `concatenate`.
pub(crate) fn lower_concatenate(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<ValueId, LegalizeError> {
    let Op::QnnConcatenate { inputs, output, axis, rounding, out_dtype } = &node.op else {
        unreachable!()
    };
    let n = &node.name;
    let (so, zo) = (output.scale[0], output.zero_point[0]);
    let mut parts = Vec::with_capacity(inputs.len());
    for (i, (q, &v)) in inputs.iter().zip(&node.inputs).enumerate() {
        let x = rw.value(v)?;
        let dtype = rw.src().ty(v).dtype;
        let (si, zi) = (q.scale[0], q.zero_point[0]);
        let part = if (si, zi) == (so, zo) {
            if dtype == *out_dtype {
                x
            } else {
                rw.node(&format!("{n}.in{i}"), None, Op::Cast { to: *out_dtype }, &[x])?
            }
        } else {
            let scale =
                requant_scale(node, *rounding, &[(f64::from(si) / f64::from(so), si / so)])?;
            let op = Op::Requantize {
                scale,
                axes: vec![],
                input_zero_point: zi,
                output_zero_point: zo,
                out_dtype: *out_dtype,
            };
            rw.node(&format!("{n}.in{i}"), None, op, &[x])?
        };
        parts.push(part);
    }
    rw.node(out, Some(out), Op::Concatenate { axis: *axis }, &parts)
}
