//! CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: `qnn.conv2d` / `qnn.dense` (NHWC data,
//! TFLite's OHWI and `[N, K]` weights as they are), the int32 bias added, then a core
//! `requantize` by TFLite's per-channel multipliers `f64(s_in) · f64(s_w[k]) / f64(s_out)`
//! (what `PopulateConvolutionQuantizationParams` computes) and the fused activation's clamp.

use qnn_ir::{
    Conv2dAttrs, DType, DataLayout, FixedPointMultiplier, FixedRounding, KernelLayout, Op,
    QuantParams, Tensor, ValueId, window_output,
};

use super::Kernels;
use super::arith::{activation_range, clamp, multiplier, requantize, stem_before_clamp};
use super::context::{Ctx, Info, OpRef};
use crate::error::TfliteError;
use crate::generated as fb;

/// How a kernel family applies `MultiplyByQuantizedMultiplier` to its accumulators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// CONV_2D and FULLY_CONNECTED: im2col and a GEMM through ruy in the builtin kernels.
    Gemm,
    /// DEPTHWISE_CONV_2D: its own kernels, gemmlowp's double rounding in both.
    Depthwise,
}

/// True where LiteRT's kernel requantizes as ruy does: `SaturatingRoundingDoublingHighMul`
/// (ties toward +∞), then a rounding right shift with ties toward +∞ (`(x + 2^(s−1)) >> s`),
/// where gemmlowp's `RoundingDivideByPOT` breaks ties away from zero. Found on the fixtures:
/// the builtin CONV_2D gives −15 for `acc · M = −15.5011` (high product −992.07 → −992, then
/// −992 / 64 = −15.5 → −15), the reference kernel −16.
fn ruy_rounding(kernels: Kernels, family: Family) -> bool {
    kernels == Kernels::Builtin && family == Family::Gemm
}

struct Window {
    strides: [usize; 2],
    dilation: [usize; 2],
    same: bool,
}

fn positive(o: &OpRef<'_>, what: &str, v: i32) -> Result<usize, TfliteError> {
    usize::try_from(v)
        .ok()
        .filter(|&v| v >= 1)
        .ok_or_else(|| o.error(format!("{what} {v} must be ≥ 1")))
}

fn same_padding(o: &OpRef<'_>, p: fb::Padding) -> Result<bool, TfliteError> {
    match p {
        fb::Padding::SAME => Ok(true),
        fb::Padding::VALID => Ok(false),
        other => Err(o.unsupported(format!("padding {}", other.0))),
    }
}

/// TFLite's `ComputePaddingHeightWidth`: the output extent (`ceil(in / stride)` for SAME,
/// `ceil((in − span + 1) / stride)` for VALID) and the padding it needs, the odd cell after.
pub(crate) fn padding(
    o: &OpRef<'_>,
    input: [usize; 2],
    kernel: [usize; 2],
    strides: [usize; 2],
    dilation: [usize; 2],
    same: bool,
) -> Result<[usize; 4], TfliteError> {
    let mut pads = [0; 4];
    for d in 0..2 {
        let span = dilation[d]
            .checked_mul(kernel[d].saturating_sub(1))
            .and_then(|s| s.checked_add(1))
            .ok_or_else(|| o.error("window extent overflows"))?;
        let out = if same {
            input[d].div_ceil(strides[d])
        } else {
            if input[d] < span {
                return Err(
                    o.error(format!("window of {span} larger than the input's {}", input[d]))
                );
            }
            (input[d] - span) / strides[d] + 1
        };
        let total = ((out.max(1) - 1) * strides[d] + span).saturating_sub(input[d]);
        pads[d] = total / 2;
        pads[d + 2] = total - total / 2;
    }
    Ok(pads)
}

fn rank4(o: &OpRef<'_>, i: &Info, what: &str) -> Result<[usize; 4], TfliteError> {
    i.shape.clone().try_into().map_err(|_| {
        o.unsupported(format!("{what} `{}` of shape {:?} (rank 4 expected)", i.name, i.shape))
    })
}

fn eight_bit(o: &OpRef<'_>, i: &Info, what: &str) -> Result<(), TfliteError> {
    if i.dtype.is_8bit() {
        Ok(())
    } else {
        Err(o.unsupported(format!(
            "{what} `{}` of type {} (int8 or uint8 expected)",
            i.name, i.dtype
        )))
    }
}

/// The weights' parameters: per tensor, or per channel along `axis` (TFLite's quantized
/// dimension, which must be the output-channel one).
fn weight_params(o: &OpRef<'_>, w: &Info, axis: usize) -> Result<QuantParams, TfliteError> {
    let q =
        w.q.clone()
            .ok_or_else(|| o.unsupported(format!("weights `{}` are not quantized", w.name)))?;
    if q.is_per_tensor() {
        return Ok(QuantParams::per_tensor(q.scale[0], q.zero_point[0]));
    }
    if q.axis != Some(axis) {
        return Err(o.unsupported(format!(
            "weights `{}` quantized along dimension {:?} (the output channels are dimension {axis})",
            w.name, q.axis
        )));
    }
    Ok(q)
}

pub(super) fn conv2d(cx: &mut Ctx<'_>, o: &OpRef<'_>) -> Result<(), TfliteError> {
    let opts =
        o.op.builtin_options_as_conv_2_doptions().ok_or_else(|| o.error("no Conv2DOptions"))?;
    let win = Window {
        strides: [
            positive(o, "stride_h", opts.stride_h())?,
            positive(o, "stride_w", opts.stride_w())?,
        ],
        dilation: [
            positive(o, "dilation_h_factor", opts.dilation_h_factor())?,
            positive(o, "dilation_w_factor", opts.dilation_w_factor())?,
        ],
        same: same_padding(o, opts.padding())?,
    };
    let (xi, wi) = (cx.info(o.input(0)?)?, cx.info(o.input(1)?)?);
    let [_, _, _, c] = rank4(o, &xi, "input")?;
    let [oc, _, _, ic] = rank4(o, &wi, "weights")?;
    if ic == 0 || c % ic != 0 || oc % (c / ic).max(1) != 0 {
        return Err(
            o.error(format!("input channels {c} and weights {:?} do not form groups", wi.shape))
        );
    }
    let wq = weight_params(o, &wi, 0)?;
    let weights = cx.value(o.input(1)?)?;
    conv_common(
        cx,
        o,
        &xi,
        &wi,
        weights,
        wq,
        c / ic,
        &win,
        opts.fused_activation_function(),
        Family::Gemm,
    )
}

pub(super) fn depthwise(cx: &mut Ctx<'_>, o: &OpRef<'_>) -> Result<(), TfliteError> {
    let opts =
        o.op.builtin_options_as_depthwise_conv_2_doptions()
            .ok_or_else(|| o.error("no DepthwiseConv2DOptions"))?;
    let win = Window {
        strides: [
            positive(o, "stride_h", opts.stride_h())?,
            positive(o, "stride_w", opts.stride_w())?,
        ],
        dilation: [
            positive(o, "dilation_h_factor", opts.dilation_h_factor())?,
            positive(o, "dilation_w_factor", opts.dilation_w_factor())?,
        ],
        same: same_padding(o, opts.padding())?,
    };
    let (xi, wi) = (cx.info(o.input(0)?)?, cx.info(o.input(1)?)?);
    let [_, _, _, c] = rank4(o, &xi, "input")?;
    let [one, kh, kw, oc] = rank4(o, &wi, "weights")?;
    if one != 1 || c == 0 || oc % c != 0 {
        return Err(o.error(format!(
            "depthwise weights {:?} for {c} input channels (expected [1, H, W, C·multiplier])",
            wi.shape
        )));
    }
    let wq = weight_params(o, &wi, 3)?;
    let wq = if wq.is_per_tensor() { wq } else { QuantParams { axis: Some(0), ..wq } };
    // TFLite's [1, H, W, O] to OHWI [O, H, W, 1]: output channel o = c · multiplier + m reads
    // input channel c, which is qnn's grouped convolution with C groups.
    let w =
        cx.constant(o.input(1)?)?.ok_or_else(|| o.unsupported("weights computed at run time"))?;
    let w = match w {
        Tensor::I8(a) => Tensor::from_vec(
            &[oc, kh, kw, 1],
            hwo_to_ohw(&a.iter().copied().collect::<Vec<_>>(), kh * kw, oc),
        ),
        Tensor::U8(a) => Tensor::from_vec(
            &[oc, kh, kw, 1],
            hwo_to_ohw(&a.iter().copied().collect::<Vec<_>>(), kh * kw, oc),
        ),
        other => return Err(o.unsupported(format!("weights of type {}", other.dtype()))),
    }
    .map_err(|e| TfliteError::Ir { op: o.label.clone(), source: Box::new(e) })?;
    let weights = cx.emit_const(o, &format!("{}/ohwi", wi.name), w)?;
    let wi = Info { shape: vec![oc, kh, kw, 1], ..wi };
    conv_common(
        cx,
        o,
        &xi,
        &wi,
        weights,
        wq,
        c,
        &win,
        opts.fused_activation_function(),
        Family::Depthwise,
    )
}

/// `[H·W, O]` row-major to `[O, H·W]`.
fn hwo_to_ohw<T: Copy>(v: &[T], hw: usize, o: usize) -> Vec<T> {
    (0..o).flat_map(|k| (0..hw).map(move |p| v[p * o + k])).collect()
}

#[allow(clippy::too_many_arguments)]
fn conv_common(
    cx: &mut Ctx<'_>,
    o: &OpRef<'_>,
    xi: &Info,
    wi: &Info,
    weights: ValueId,
    wq: QuantParams,
    groups: usize,
    win: &Window,
    act: fb::ActivationFunctionType,
    family: Family,
) -> Result<(), TfliteError> {
    eight_bit(o, xi, "input")?;
    eight_bit(o, wi, "weights")?;
    let [_, h, w, _] = rank4(o, xi, "input")?;
    let [oc, kh, kw, _] = rank4(o, wi, "weights")?;
    let padding = padding(o, [h, w], [kh, kw], win.strides, win.dilation, win.same)?;
    for d in 0..2 {
        let k = [kh, kw][d];
        if window_output([h, w][d], padding[d], padding[d + 2], k, win.strides[d], win.dilation[d])
            .is_none()
        {
            return Err(o.error("the window does not fit the padded input"));
        }
    }
    let (xs, xzp) = xi.per_tensor(o, "input")?;
    let conv = Conv2dAttrs {
        strides: win.strides,
        padding,
        dilation: win.dilation,
        groups,
        data_layout: DataLayout::Nhwc,
        kernel_layout: KernelLayout::Ohwi,
    };
    let x = cx.value(o.input(0)?)?;
    let y = o.output(0)?;
    let yname = cx.info(y)?.name;
    let op = Op::QnnConv2d { conv, input: QuantParams::per_tensor(xs, xzp), kernel: wq.clone() };
    let acc = cx.emit(o, &format!("{yname}/conv"), op, &[x, weights])?;
    let acc = add_bias(cx, o, acc, oc, &[1, 1, 1, oc], &yname)?;
    let ruy = ruy_rounding(cx.kernels, family);
    let out = finish(cx, o, acc, (xs, &wq), 3, act, ruy, &yname)?;
    cx.bind(o, y, out)
}

/// `acc + bias` with the int32 bias (input 2, if any) shaped `shape` to broadcast.
fn add_bias(
    cx: &mut Ctx<'_>,
    o: &OpRef<'_>,
    acc: ValueId,
    channels: usize,
    shape: &[usize],
    stem: &str,
) -> Result<ValueId, TfliteError> {
    let Some(b) = o.opt_input(2) else { return Ok(acc) };
    let bi = cx.info(b)?;
    if bi.dtype != DType::I32 || bi.shape.iter().product::<usize>() != channels {
        return Err(o.unsupported(format!(
            "bias `{}` of type {}: int32 with {channels} values expected",
            bi.name,
            bi.ty()
        )));
    }
    let Some(Tensor::I32(v)) = cx.constant(b)? else {
        return Err(o.unsupported(format!("bias `{}` computed at run time", bi.name)));
    };
    let t = Tensor::from_vec(shape, v.iter().copied().collect())
        .map_err(|e| TfliteError::Ir { op: o.label.clone(), source: Box::new(e) })?;
    let bias = cx.emit_const(o, &format!("{}/bias", bi.name), t)?;
    cx.emit(o, &format!("{stem}/bias"), Op::Add, &[acc, bias])
}

/// Requantizes the accumulator (channel axis `axis`) to the output and applies the fused
/// activation's clamp; the last node is named `name`.
#[allow(clippy::too_many_arguments)]
fn finish(
    cx: &mut Ctx<'_>,
    o: &OpRef<'_>,
    acc: ValueId,
    (xs, wq): (f32, &QuantParams),
    axis: usize,
    act: fb::ActivationFunctionType,
    ruy: bool,
    name: &str,
) -> Result<ValueId, TfliteError> {
    let yi = cx.info(o.output(0)?)?;
    eight_bit(o, &yi, "output")?;
    let (ys, yzp) = yi.per_tensor(o, "output")?;
    let mut mults = Vec::new();
    for (k, &ws) in wq.scale.iter().enumerate() {
        let real = f64::from(xs) * f64::from(ws) / f64::from(ys);
        mults.push(multiplier(o, &format!("channel {k}"), real)?);
    }
    let axes = if mults.len() > 1 { vec![axis] } else { vec![] };
    let range = activation_range(o, act, (ys, yzp), yi.dtype)?;
    let stem = stem_before_clamp(name, "requantize", range, yi.dtype);
    let y = if ruy {
        // The high product (the shift's left part, q) in i32, then the right shift by a
        // power-of-two multiplier `2^min(shift, 0)` rounded once, ties toward +∞ (exact).
        let (high, right): (Vec<_>, Vec<_>) = mults
            .iter()
            .map(|m| {
                let left = FixedPointMultiplier { multiplier: m.multiplier, shift: m.shift.max(0) };
                let right = FixedPointMultiplier { multiplier: 1 << 30, shift: m.shift.min(0) + 1 };
                (left, right)
            })
            .unzip();
        let h = format!("{name}/high");
        let high = requantize(
            cx,
            o,
            &h,
            acc,
            high,
            FixedRounding::Tflite,
            axes.clone(),
            (0, 0),
            DType::I32,
        )?;
        requantize(cx, o, &stem, high, right, FixedRounding::Upward, axes, (0, yzp), yi.dtype)?
    } else {
        requantize(cx, o, &stem, acc, mults, FixedRounding::Tflite, axes, (0, yzp), yi.dtype)?
    };
    clamp(cx, o, name, y, range, yi.dtype)
}

pub(super) fn fully_connected(cx: &mut Ctx<'_>, o: &OpRef<'_>) -> Result<(), TfliteError> {
    let opts =
        o.op.builtin_options_as_fully_connected_options()
            .ok_or_else(|| o.error("no FullyConnectedOptions"))?;
    if opts.weights_format() != fb::FullyConnectedOptionsWeightsFormat::DEFAULT {
        return Err(o.unsupported("shuffled weights format"));
    }
    let (xi, wi) = (cx.info(o.input(0)?)?, cx.info(o.input(1)?)?);
    eight_bit(o, &xi, "input")?;
    eight_bit(o, &wi, "weights")?;
    let [n, k] = wi.shape[..] else {
        return Err(o.unsupported(format!("weights of shape {:?} ([N, K] expected)", wi.shape)));
    };
    let total: usize = xi.shape.iter().product();
    if k == 0 || !total.is_multiple_of(k) {
        return Err(
            o.error(format!("input of shape {:?} does not split into rows of {k}", xi.shape))
        );
    }
    let rows = total / k;
    let wq = weight_params(o, &wi, 0)?;
    let (xs, xzp) = xi.per_tensor(o, "input")?;
    let yi = cx.info(o.output(0)?)?;
    let mut x = cx.value(o.input(0)?)?;
    if xi.shape != [rows, k] {
        x = cx.emit(o, &format!("{}/rows", xi.name), Op::Reshape { shape: vec![rows, k] }, &[x])?;
    }
    let w = cx.value(o.input(1)?)?;
    let op = Op::QnnDense { input: QuantParams::per_tensor(xs, xzp), kernel: wq.clone() };
    let acc = cx.emit(o, &format!("{}/dense", yi.name), op, &[x, w])?;
    let acc = add_bias(cx, o, acc, n, &[1, n], &yi.name)?;
    let act = opts.fused_activation_function();
    // keep_num_dims gives [.., N]; otherwise [rows, N]: either way the declared shape.
    let reshape = yi.shape != [rows, n];
    let name = if reshape { format!("{}/rows", yi.name) } else { yi.name.clone() };
    let ruy = ruy_rounding(cx.kernels, Family::Gemm);
    let mut y = finish(cx, o, acc, (xs, &wq), 1, act, ruy, &name)?;
    if reshape {
        // A mismatched element count is reported by `bind` with both types.
        if yi.shape.iter().product::<usize>() == rows * n {
            y = cx.emit(o, &yi.name, Op::Reshape { shape: yi.shape.clone() }, &[y])?;
        }
    }
    cx.bind(o, o.output(0)?, y)
}
