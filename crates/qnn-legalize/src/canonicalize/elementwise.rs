//! `qnn.add`, `qnn.mul`, `qnn.concatenate` → core ops, bit-exact with the reference.

use qnn_ir::{DType, Node, Op, Rounding, ValueId};

use super::requantize::{requant_scale, requantize_op};
use super::{Rewriter, unsupported};
use crate::error::LegalizeError;
use crate::record::{
    AddForm, AddRecord, ConcatPart, ConcatRecord, MulRecord, RecordKind, RequantizeParams,
};

/// `qnn.add`.
///
/// Fixed modes (reference: `clamp(zp_o + round(M_a·(a − zp_a)) + round(M_b·(b − zp_b)))`):
/// `requantize(a → i32, zp_out 0)`, `requantize(b → i32, zp_out zp_o)`, `add`, saturating
/// `cast`. Exact when every partial result stays in i32, which is checked here from
/// `|a − zp_a| ≤ 255`: `255·(M_a + M_b) + 4 + |zp_o| < 2^31`.
///
/// Float mode (reference: ONNX Runtime's QLinearAdd, `clamp(rne(fma(a, r_a, fma(b, r_b, c))))`
/// with `c = f32(zp_o) − fma(r_a, zp_a, f32(r_b · zp_b))` folded here in f32 exactly as the
/// reference computes it): `cast(f32)` of each raw operand (exact), two `fma`, `round`,
/// saturating `cast`.
pub(crate) fn lower_add(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<(ValueId, RecordKind), LegalizeError> {
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
        let c_value = zo as f32 - ma.mul_add(za as f32, mb * zb as f32);
        let fa = rw.node(&format!("{n}.af"), None, Op::Cast { to: DType::F32 }, &[a])?;
        let fb = rw.node(&format!("{n}.bf"), None, Op::Cast { to: DType::F32 }, &[b])?;
        let (ra, rb) = (
            rw.f32_constant(&format!("{n}.am"), &[], vec![ma])?,
            rw.f32_constant(&format!("{n}.bm"), &[], vec![mb])?,
        );
        let c = rw.f32_constant(&format!("{n}.c"), &[], vec![c_value])?;
        let t = rw.node(&format!("{n}.bfma"), None, Op::Fma, &[fb, rb, c])?;
        let v = rw.node(&format!("{n}.afma"), None, Op::Fma, &[fa, ra, t])?;
        let r = rw.node(&format!("{n}.round"), None, Op::Round, &[v])?;
        let y = rw.node(out, Some(out), Op::Cast { to: *out_dtype }, &[r])?;
        let form = AddForm::Float { ma, mb, c: c_value };
        let record = AddRecord { inputs: [a, b], form, out_dtype: *out_dtype };
        return Ok((y, RecordKind::Add(record)));
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
    let form = AddForm::Fixed { a: ma.clone(), b: mb.clone(), zero_points: [za, zb, zo] };
    let l = rw.node(&format!("{n}.a"), None, req(ma, za, 0), &[a])?;
    let r = rw.node(&format!("{n}.b"), None, req(mb, zb, zo), &[b])?;
    let s = rw.node(&format!("{n}.sum"), None, Op::Add, &[l, r])?;
    let y = rw.node(out, Some(out), Op::Cast { to: *out_dtype }, &[s])?;
    Ok((y, RecordKind::Add(AddRecord { inputs: [a, b], form, out_dtype: *out_dtype })))
}

/// `f32(x − zp) · m`: `cast(f32) → [subtract zp] → multiply m` (8-bit values and zero points
/// are exact in f32, so the subtraction is exact).
pub(crate) fn float_operand(
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

/// `qnn.mul`: `(a − zp_a)·(b − zp_b)` in i32 (|·| ≤ 255² for 8-bit operands), then fixed
/// modes `requantize` with `M = s_a·s_b / s_o` (in f64); float mode (ONNX Runtime's QLinearMul,
/// which adds the zero point before rounding) `cast(f32) → multiply m → add f32(zp_o) → round
/// → cast` with `m = f32(f32(s_a·s_b) / s_o)`.
pub(crate) fn lower_mul(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<(ValueId, RecordKind), LegalizeError> {
    let Op::QnnMul { lhs, rhs, output, rounding, out_dtype } = &node.op else { unreachable!() };
    let n = &node.name;
    let (sa, sb, so) = (lhs.scale[0], rhs.scale[0], output.scale[0]);
    let (a, b) = (rw.value(node.inputs[0])?, rw.value(node.inputs[1])?);
    let record = |scale| {
        RecordKind::Mul(MulRecord {
            inputs: [a, b],
            zero_points: [lhs.zero_point[0], rhs.zero_point[0]],
            scale,
            output_zero_point: output.zero_point[0],
            out_dtype: *out_dtype,
        })
    };
    let ca = centered(rw, n, "a", a, lhs.zero_point[0])?;
    let cb = centered(rw, n, "b", b, rhs.zero_point[0])?;
    let p = rw.node(&format!("{n}.product"), None, Op::Multiply, &[ca, cb])?;
    if *rounding == Rounding::Float {
        let m = (sa * sb) / so;
        if !m.is_finite() {
            return Err(unsupported(node, format!("f32 multiplier {m:e} overflows f32")));
        }
        let f = rw.node(&format!("{n}.pf"), None, Op::Cast { to: DType::F32 }, &[p])?;
        let mc = rw.f32_constant(&format!("{n}.m"), &[], vec![m])?;
        let v = rw.node(&format!("{n}.scaled"), None, Op::Multiply, &[f, mc])?;
        let z = rw.f32_constant(&format!("{n}.zp"), &[], vec![output.zero_point[0] as f32])?;
        let v = rw.node(&format!("{n}.addzp"), None, Op::Add, &[v, z])?;
        let r = rw.node(&format!("{n}.round"), None, Op::Round, &[v])?;
        let y = rw.node(out, Some(out), Op::Cast { to: *out_dtype }, &[r])?;
        return Ok((y, record(qnn_ir::RequantScale::Float { mults: vec![m] })));
    }
    let real = f64::from(sa) * f64::from(sb) / f64::from(so);
    let scale = requant_scale(node, *rounding, &[(real, (sa * sb) / so)])?;
    let op = Op::Requantize {
        scale: scale.clone(),
        axes: vec![],
        input_zero_point: 0,
        output_zero_point: output.zero_point[0],
        out_dtype: *out_dtype,
    };
    Ok((rw.node(out, Some(out), op, &[p])?, record(scale)))
}

/// `qnn.concatenate`: each input requantized to the output parameters (or only cast, which
/// saturates like the reference's clamp, where its parameters equal the output's), then
/// `concatenate`. Float mode requantizes as ONNX Runtime's QLinearConcat,
/// `rne(f32(f32(x − zp_in) · s_in) / s_out) + zp_out`: `cast(f32) → subtract zp → multiply s_in
/// → divide s_out → round → add zp_out → cast`.
pub(crate) fn lower_concatenate(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<(ValueId, RecordKind), LegalizeError> {
    let Op::QnnConcatenate { inputs, output, axis, rounding, out_dtype } = &node.op else {
        unreachable!()
    };
    let n = &node.name;
    let (so, zo) = (output.scale[0], output.zero_point[0]);
    let mut parts = Vec::with_capacity(inputs.len());
    let mut sources = Vec::with_capacity(inputs.len());
    let mut forms = Vec::with_capacity(inputs.len());
    for (i, (q, &v)) in inputs.iter().zip(&node.inputs).enumerate() {
        let x = rw.value(v)?;
        sources.push(x);
        let dtype = rw.src().ty(v).dtype;
        let (si, zi) = (q.scale[0], q.zero_point[0]);
        let part = if (si, zi) == (so, zo) {
            if dtype == *out_dtype {
                forms.push(ConcatPart::Copy);
                x
            } else {
                forms.push(ConcatPart::Cast);
                rw.node(&format!("{n}.in{i}"), None, Op::Cast { to: *out_dtype }, &[x])?
            }
        } else if *rounding == Rounding::Float {
            forms.push(ConcatPart::Float { zp_in: zi, s_in: si, s_out: so, zp_out: zo });
            let real = float_operand(rw, n, &format!("in{i}"), x, zi, si)?;
            let s = rw.f32_constant(&format!("{n}.in{i}so"), &[], vec![so])?;
            let q = rw.node(&format!("{n}.in{i}q"), None, Op::Divide, &[real, s])?;
            let q = rw.node(&format!("{n}.in{i}r"), None, Op::Round, &[q])?;
            let z = rw.f32_constant(&format!("{n}.in{i}zo"), &[], vec![zo as f32])?;
            let q = rw.node(&format!("{n}.in{i}addzp"), None, Op::Add, &[q, z])?;
            rw.node(&format!("{n}.in{i}"), None, Op::Cast { to: *out_dtype }, &[q])?
        } else {
            let scale =
                requant_scale(node, *rounding, &[(f64::from(si) / f64::from(so), si / so)])?;
            let params = RequantizeParams {
                scale,
                axes: vec![],
                input_zero_point: zi,
                output_zero_point: zo,
                out_dtype: *out_dtype,
            };
            let part = rw.node(&format!("{n}.in{i}"), None, requantize_op(&params), &[x])?;
            forms.push(ConcatPart::Requantize(params));
            part
        };
        parts.push(part);
    }
    let y = rw.node(out, Some(out), Op::Concatenate { axis: *axis }, &parts)?;
    let record = ConcatRecord { inputs: sources, axis: *axis, parts: forms, out_dtype: *out_dtype };
    Ok((y, RecordKind::Concat(record)))
}
