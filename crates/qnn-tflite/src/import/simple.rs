//! RESHAPE and SQUEEZE, QUANTIZE (8-bit to 8-bit), DEQUANTIZE, and the standalone RELU, RELU6,
//! RELU_N1_TO_1 as TFLite computes them.

use qnn_ir::{DType, FixedRounding, Op, QuantParams, Tensor};

use super::Kernels;
use super::arith::{activation_range, clamp, multiplier, requantize, stem_before_clamp};
use super::context::{Ctx, OpRef};
use crate::error::TfliteError;
use crate::generated as fb;

/// RESHAPE / SQUEEZE: the output tensor's declared shape (the new-shape input and options
/// agree with it in a converted model; the element count is checked).
pub(super) fn reshape(cx: &mut Ctx<'_>, o: &OpRef<'_>) -> Result<(), TfliteError> {
    let (xi, yi) = (cx.info(o.input(0)?)?, cx.info(o.output(0)?)?);
    if xi.dtype != yi.dtype
        || xi.shape.iter().product::<usize>() != yi.shape.iter().product::<usize>()
    {
        return Err(o.error(format!("{} cannot be reshaped to {}", xi.ty(), yi.ty())));
    }
    if xi.q.is_some() && yi.q.is_some() && xi.q != yi.q {
        return Err(o.unsupported("input and output quantization differ"));
    }
    let x = cx.value(o.input(0)?)?;
    let y = cx.emit(o, &yi.name, Op::Reshape { shape: yi.shape.clone() }, &[x])?;
    cx.bind(o, o.output(0)?, y)
}

/// QUANTIZE between 8-bit types: `MultiplyByQuantizedMultiplier(x − zp_in, s_in / s_out) +
/// zp_out`, the multiplier's quotient in f64 (`quantize.cc`).
pub(super) fn quantize(cx: &mut Ctx<'_>, o: &OpRef<'_>) -> Result<(), TfliteError> {
    let (xi, yi) = (cx.info(o.input(0)?)?, cx.info(o.output(0)?)?);
    if xi.dtype == DType::F32 {
        return Err(o.unsupported(
            "QUANTIZE from float32: TFLite rounds ties away from zero, which qnn.quantize \
             (ties to even) does not reproduce yet",
        ));
    }
    if !xi.dtype.is_8bit() || !yi.dtype.is_8bit() {
        return Err(o.unsupported(format!("QUANTIZE from {} to {}", xi.dtype, yi.dtype)));
    }
    let (si, zi) = xi.per_tensor(o, "input")?;
    let (so, zo) = yi.per_tensor(o, "output")?;
    let m = multiplier(o, "output", f64::from(si) / f64::from(so))?;
    let x = cx.value(o.input(0)?)?;
    let y =
        requantize(cx, o, &yi.name, x, vec![m], FixedRounding::Tflite, vec![], (zi, zo), yi.dtype)?;
    cx.bind(o, o.output(0)?, y)
}

/// DEQUANTIZE to float32. The reference kernel computes `f32(f64(scale) · (x − zp))`, one
/// rounding of the exact product, which is `qnn.dequantize`. The builtin kernel computes
/// `f32(x) · scale − f32(zp · scale)`, three f32 roundings (found on the fixtures: 38 of 144
/// values differ in the last bit from the reference's): `cast`, `multiply`, `subtract`.
pub(super) fn dequantize(cx: &mut Ctx<'_>, o: &OpRef<'_>) -> Result<(), TfliteError> {
    let (xi, yi) = (cx.info(o.input(0)?)?, cx.info(o.output(0)?)?);
    if !xi.dtype.is_8bit() || yi.dtype != DType::F32 {
        return Err(o.unsupported(format!("DEQUANTIZE from {} to {}", xi.dtype, yi.dtype)));
    }
    let q: QuantParams = xi.q.clone().ok_or_else(|| o.error("the input is not quantized"))?;
    let x = cx.value(o.input(0)?)?;
    if cx.kernels == Kernels::Reference {
        let y = cx.emit(o, &yi.name, Op::QnnDequantize { input: q }, &[x])?;
        return cx.bind(o, o.output(0)?, y);
    }
    let (scale, zp) = xi.per_tensor(o, "input")?;
    let ir = |e| TfliteError::Ir { op: o.label.clone(), source: Box::new(e) };
    let xf = cx.emit(o, &format!("{}/float", yi.name), Op::Cast { to: DType::F32 }, &[x])?;
    let s = cx.emit_const(
        o,
        &format!("{}/scale", yi.name),
        Tensor::from_vec(&[], vec![scale]).map_err(ir)?,
    )?;
    let zs = Tensor::from_vec(&[], vec![zp as f32 * scale]).map_err(ir)?;
    let zs = cx.emit_const(o, &format!("{}/offset", yi.name), zs)?;
    let scaled = cx.emit(o, &format!("{}/scaled", yi.name), Op::Multiply, &[xf, s])?;
    let y = cx.emit(o, &yi.name, Op::Subtract, &[scaled, zs])?;
    cx.bind(o, o.output(0)?, y)
}

/// RELU, RELU6, RELU_N1_TO_1 on 8-bit tensors (`activations.cc`, `QuantizedReluX`): requantized
/// by `f32(s_in / s_out)`, clamped to `zp_out + roundf(bound / s_out)`.
pub(super) fn relu(cx: &mut Ctx<'_>, o: &OpRef<'_>) -> Result<(), TfliteError> {
    let (xi, yi) = (cx.info(o.input(0)?)?, cx.info(o.output(0)?)?);
    if !xi.dtype.is_8bit() || xi.dtype != yi.dtype {
        return Err(o.unsupported(format!("{} input, {} output", xi.dtype, yi.dtype)));
    }
    let (si, zi) = xi.per_tensor(o, "input")?;
    let (so, zo) = yi.per_tensor(o, "output")?;
    let (lo, hi) = match o.code {
        fb::BuiltinOperator::RELU => (0.0f32, None),
        fb::BuiltinOperator::RELU6 => (0.0, Some(6.0f32)),
        _ => (-1.0, Some(1.0)),
    };
    let (qmin, qmax) = yi.dtype.int_range().unwrap_or((0, 255));
    let bound = |f: f32| i64::from(zo) + (f / so).round() as i64;
    let range = (qmin.max(bound(lo)), hi.map_or(qmax, |h| qmax.min(bound(h))));
    let m = multiplier(o, "output", f64::from(si / so))?;
    let x = cx.value(o.input(0)?)?;
    let stem = stem_before_clamp(&yi.name, "requantize", range, yi.dtype);
    let y =
        requantize(cx, o, &stem, x, vec![m], FixedRounding::Tflite, vec![], (zi, zo), yi.dtype)?;
    let y = clamp(cx, o, &yi.name, y, range, yi.dtype)?;
    cx.bind(o, o.output(0)?, y)
}

/// CONCATENATION of 8-bit tensors with the output's parameters (what the converter makes:
/// TFLite's quantization spec ties them), a copy; inputs with other parameters, which TFLite
/// requantizes in float, are not supported yet.
pub(super) fn concatenation(cx: &mut Ctx<'_>, o: &OpRef<'_>) -> Result<(), TfliteError> {
    let opts =
        o.op.builtin_options_as_concatenation_options()
            .ok_or_else(|| o.error("no ConcatenationOptions"))?;
    let yi = cx.info(o.output(0)?)?;
    let rank = yi.shape.len() as i64;
    let axis = i64::from(opts.axis());
    let axis = if axis < 0 { axis + rank } else { axis };
    let axis = usize::try_from(axis)
        .ok()
        .filter(|&a| a < yi.shape.len())
        .ok_or_else(|| o.error(format!("axis {} outside the rank {rank}", opts.axis())))?;
    let count = o.op.inputs().map(|v| v.len()).unwrap_or(0);
    let mut values = Vec::new();
    for k in 0..count {
        let xi = cx.info(o.input(k)?)?;
        if xi.dtype != yi.dtype || (yi.dtype.is_integer() && xi.q != yi.q) {
            return Err(o.unsupported(format!(
                "input `{}` ({}, {:?}) differs from the output ({}, {:?}) in type or quantization",
                xi.name, xi.dtype, xi.q, yi.dtype, yi.q
            )));
        }
        values.push(cx.value(o.input(k)?)?);
    }
    if !yi.dtype.is_8bit() {
        return Err(o.unsupported(format!("CONCATENATION of {} tensors", yi.dtype)));
    }
    let q = yi.per_tensor(o, "output")?;
    let range = activation_range(o, opts.fused_activation_function(), q, yi.dtype)?;
    let stem = stem_before_clamp(&yi.name, "concatenate", range, yi.dtype);
    let y = cx.emit(o, &stem, Op::Concatenate { axis }, &values)?;
    let y = clamp(cx, o, &yi.name, y, range, yi.dtype)?;
    cx.bind(o, o.output(0)?, y)
}

/// PAD / PADV2 of an 8-bit tensor with constant paddings: the padded cells hold the output's
/// zero point (PAD) or the constant value (PADV2), as `pad.cc` fills them.
pub(super) fn pad(cx: &mut Ctx<'_>, o: &OpRef<'_>) -> Result<(), TfliteError> {
    let (xi, yi) = (cx.info(o.input(0)?)?, cx.info(o.output(0)?)?);
    if !xi.dtype.is_8bit() || xi.dtype != yi.dtype || xi.q != yi.q {
        return Err(o.unsupported("input and output of different types or quantization"));
    }
    let Some(Tensor::I32(p)) = cx.constant(o.input(1)?)? else {
        return Err(o.unsupported("paddings computed at run time (int32 constants expected)"));
    };
    let rank = xi.shape.len();
    if p.shape() != [rank, 2] {
        return Err(o.error(format!("paddings of shape {:?} for rank {rank}", p.shape())));
    }
    let mut pads = Vec::new();
    for r in 0..rank {
        let side = |c: usize| {
            usize::try_from(p[[r, c]])
                .map_err(|_| o.error(format!("negative padding {}", p[[r, c]])))
        };
        pads.push([side(0)?, side(1)?]);
    }
    let (_, zp) = yi.per_tensor(o, "output")?;
    let value = match o.opt_input(2) {
        Some(c) => match cx.constant(c)? {
            Some(t) if t.len() == 1 => {
                t.to_i64().map(|a| a.iter().copied().sum::<i64>()).unwrap_or(0)
            }
            _ => return Err(o.unsupported("a constant value that is not a scalar constant")),
        },
        None => i64::from(zp),
    };
    let x = cx.value(o.input(0)?)?;
    let y = cx.emit(o, &yi.name, Op::Pad { pads, value: value as f64 }, &[x])?;
    cx.bind(o, o.output(0)?, y)
}
