//! ADD, SUB and MUL on 8-bit tensors (broadcasting), as TFLite's kernels compute them.
//!
//! ADD and SUB (`add.cc`, `sub.cc`, `reference_integer_ops::AddElementwise`): each operand
//! `(x − zp) · 2^20` scaled by `s / (2 · max(s_a, s_b))`, the two summed (subtracted), the
//! result scaled by `2 · max(s_a, s_b) / (2^20 · s_out)`, every scaling a
//! `MultiplyByQuantizedMultiplierSmallerThanOneExp` (double rounding), then the zero point and
//! the fused activation's clamp. MUL (`mul.cc`): `MultiplyByQuantizedMultiplier((a − zp_a) ·
//! (b − zp_b), s_a · s_b / s_out)` with the multiplier's quotient in f32. Built from core ops:
//! requantizes into i32, `add` / `subtract` / `multiply`.

use qnn_ir::{DType, FixedPointMultiplier, FixedRounding, Op, ValueId};

use super::arith::{
    activation_range, clamp, multiplier, multiplier_below_one, requantize, stem_before_clamp,
};
use super::context::{Ctx, Info, OpRef};
use crate::error::TfliteError;

/// TFLite's `left_shift` for 8-bit ADD.
const LEFT_SHIFT: i32 = 20;

/// The three operands' types, checked: 8-bit, all of the output's type.
fn operands(cx: &Ctx<'_>, o: &OpRef<'_>) -> Result<(Info, Info, Info), TfliteError> {
    let (ai, bi, yi) = (cx.info(o.input(0)?)?, cx.info(o.input(1)?)?, cx.info(o.output(0)?)?);
    for (i, what) in [(&ai, "input 0"), (&bi, "input 1"), (&yi, "output")] {
        if !i.dtype.is_8bit() || i.dtype != yi.dtype {
            return Err(o.unsupported(format!(
                "{what} `{}` of type {} (8-bit, the output's type, expected)",
                i.name, i.dtype
            )));
        }
    }
    Ok((ai, bi, yi))
}

/// ADD (`subtract == false`) or SUB.
pub(super) fn add_sub(cx: &mut Ctx<'_>, o: &OpRef<'_>, subtract: bool) -> Result<(), TfliteError> {
    let act = if subtract {
        o.op.builtin_options_as_sub_options()
            .ok_or_else(|| o.error("no SubOptions"))?
            .fused_activation_function()
    } else {
        o.op.builtin_options_as_add_options()
            .ok_or_else(|| o.error("no AddOptions"))?
            .fused_activation_function()
    };
    let (ai, bi, yi) = operands(cx, o)?;
    let (sa, za) = ai.per_tensor(o, "input 0")?;
    let (sb, zb) = bi.per_tensor(o, "input 1")?;
    let (so, zo) = yi.per_tensor(o, "output")?;
    // In f32 as add.cc has them: `2 * std::max(float, float)` and `(1 << 20) * float` are f32
    // products (exact: powers of two), the quotients f64.
    let twice_max = f64::from(2.0 * sa.max(sb));
    let ma = multiplier_below_one(o, "input 0", f64::from(sa) / twice_max)?;
    let mb = multiplier_below_one(o, "input 1", f64::from(sb) / twice_max)?;
    let scaled_out = f64::from((1i32 << LEFT_SHIFT) as f32 * so);
    let mo = multiplier_below_one(o, "output", twice_max / scaled_out)?;
    let a = cx.value(o.input(0)?)?;
    let b = cx.value(o.input(1)?)?;
    let a = scaled_operand(cx, o, &ai, &yi, a, za, ma)?;
    let b = scaled_operand(cx, o, &bi, &yi, b, zb, mb)?;
    let combine = if subtract { Op::Subtract } else { Op::Add };
    let sum = cx.emit(o, &format!("{}/sum", yi.name), combine, &[a, b])?;
    let range = activation_range(o, act, (so, zo), yi.dtype)?;
    let stem = stem_before_clamp(&yi.name, "requantize", range, yi.dtype);
    let y =
        requantize(cx, o, &stem, sum, vec![mo], FixedRounding::Tflite, vec![], (0, zo), yi.dtype)?;
    let y = clamp(cx, o, &yi.name, y, range, yi.dtype)?;
    cx.bind(o, o.output(0)?, y)
}

pub(super) fn mul(cx: &mut Ctx<'_>, o: &OpRef<'_>) -> Result<(), TfliteError> {
    let act =
        o.op.builtin_options_as_mul_options()
            .ok_or_else(|| o.error("no MulOptions"))?
            .fused_activation_function();
    let (ai, bi, yi) = operands(cx, o)?;
    let (sa, za) = ai.per_tensor(o, "input 0")?;
    let (sb, zb) = bi.per_tensor(o, "input 1")?;
    let (so, zo) = yi.per_tensor(o, "output")?;
    // `input1->params.scale * input2->params.scale / output->params.scale`: all f32.
    let m = multiplier(o, "output", f64::from(sa * sb / so))?;
    let one = FixedPointMultiplier { multiplier: 1 << 30, shift: 1 };
    let a = cx.value(o.input(0)?)?;
    let b = cx.value(o.input(1)?)?;
    let mut centered = Vec::new();
    for (x, xi, zp) in [(a, &ai, za), (b, &bi, zb)] {
        let stem = format!("{}/{}/centered", yi.name, xi.name);
        centered.push(requantize(
            cx,
            o,
            &stem,
            x,
            vec![one],
            FixedRounding::Tflite,
            vec![],
            (zp, 0),
            DType::I32,
        )?);
    }
    let product = cx.emit(o, &format!("{}/product", yi.name), Op::Multiply, &centered)?;
    let range = activation_range(o, act, (so, zo), yi.dtype)?;
    let stem = stem_before_clamp(&yi.name, "requantize", range, yi.dtype);
    let y = requantize(
        cx,
        o,
        &stem,
        product,
        vec![m],
        FixedRounding::Tflite,
        vec![],
        (0, zo),
        yi.dtype,
    )?;
    let y = clamp(cx, o, &yi.name, y, range, yi.dtype)?;
    cx.bind(o, o.output(0)?, y)
}

/// `MultiplyByQuantizedMultiplierSmallerThanOneExp((x − zp) << 20, m)` in i32.
fn scaled_operand(
    cx: &mut Ctx<'_>,
    o: &OpRef<'_>,
    xi: &Info,
    yi: &Info,
    x: ValueId,
    zp: i32,
    m: FixedPointMultiplier,
) -> Result<ValueId, TfliteError> {
    // 2^20 exactly: q = 2^30, shift 21 (|x − zp| ≤ 255, so the product stays below 2^28).
    let shift = FixedPointMultiplier { multiplier: 1 << 30, shift: LEFT_SHIFT + 1 };
    let stem = format!("{}/{}/shifted", yi.name, xi.name);
    let shifted = requantize(
        cx,
        o,
        &stem,
        x,
        vec![shift],
        FixedRounding::Tflite,
        vec![],
        (zp, 0),
        DType::I32,
    )?;
    let stem = format!("{}/{}/scaled", yi.name, xi.name);
    requantize(cx, o, &stem, shifted, vec![m], FixedRounding::Tflite, vec![], (0, 0), DType::I32)
}
