//! `ConvTranspose` between `DequantizeLinear`s and a `QuantizeLinear` (what `quantize_static`
//! emits) → `qnn.conv2d_transpose → [add bias] → qnn.requantize`.
//!
//! ONNX Runtime 1.32 does not fuse this group (it has no QLinearConvTranspose kernel): its
//! default session dequantizes, runs the float `ConvTranspose` (an SGEMM, then col2im over the
//! kernel taps, the bias last) and quantizes. qnn computes the exact integer accumulation and
//! requantizes it once with QLinearConv's rule, `clamp(rne(f32(acc) · f32(f32(s_x·s_w)/s_y))
//! + zp)`, which equals ORT's float result except where ORT's f32 rounding errors carry a
//! value across a rounding boundary (0 of 406 738 outputs on random cases, 1–512 channels
//! per group; see `tests/fixtures/README.md`). The bias joins the accumulator as an integer,
//! so its scale must be `f32(s_x · s_w)`, as `quantize_static` makes it.

use qnn_ir::{ConvTranspose2dAttrs, Op, QuantParams, ValueId};

use super::context::Importer;
use super::linear::{Operand, Out, channel_vector, finish};
use super::node::Node;
use crate::error::OnnxError;

/// The attributes of `n` for data `[N, C, H, W]` and weights `[C, M/G, kh, kw]`, the padding
/// resolved from `pads`, `auto_pad` or `output_shape` as ONNX Runtime resolves it.
pub(super) fn attrs(
    n: &Node<'_>,
    x: &[usize],
    w: &[usize],
) -> Result<ConvTranspose2dAttrs, OnnxError> {
    let a = &n.attrs;
    let (&[_, c, h, wd], &[kc, _, kh, kw]) = (x, w) else {
        return Err(n.unsupported(format!(
            "data {x:?} and weights {w:?}: only 2-D transposed convolutions (4-D tensors) are supported"
        )));
    };
    let groups = a.int_or("group", 1)?;
    let groups =
        usize::try_from(groups).ok().filter(|&g| g >= 1 && c % g == 0).ok_or_else(|| {
            a.error("group", format!("{groups} must be ≥ 1 and divide the {c} input channels"))
        })?;
    if kc != c {
        return Err(n.input_error(
            1,
            format!("weights {w:?} must have the data's {c} input channels first"),
        ));
    }
    let pair = |attr: &str, default: usize, min: i64| -> Result<[usize; 2], OnnxError> {
        match a.ints(attr)? {
            None => Ok([default; 2]),
            Some(v) if v.len() == 2 && v.iter().all(|&x| x >= min) => {
                Ok([v[0] as usize, v[1] as usize])
            }
            Some(v) => Err(a.error(attr, format!("{v:?}: expected two values ≥ {min} (2-D only)"))),
        }
    };
    if let Some(k) = a.ints("kernel_shape")?
        && k != [kh as i64, kw as i64]
    {
        return Err(
            a.error("kernel_shape", format!("{k:?} does not match the weights' [{kh}, {kw}]"))
        );
    }
    let strides = pair("strides", 1, 1)?;
    let dilation = pair("dilations", 1, 1)?;
    let output_padding = pair("output_padding", 0, 0)?;
    for d in 0..2 {
        // ORT refuses these (its output no longer maps back onto the input).
        if output_padding[d] >= strides[d] {
            return Err(a.error(
                "output_padding",
                format!("{output_padding:?}: each must be smaller than its stride {strides:?}"),
            ));
        }
    }
    let auto_pad = a.string("auto_pad")?.unwrap_or_else(|| "NOTSET".into());
    if !["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"].contains(&auto_pad.as_str()) {
        return Err(a.error(
            "auto_pad",
            format!("`{auto_pad}` is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER"),
        ));
    }
    let output_shape = a.ints("output_shape")?;
    let pads = a.ints("pads")?;
    let (input, kernel) = ([h, wd], [kh, kw]);
    let full = |d: usize| {
        strides[d] * (input[d] - 1) + output_padding[d] + dilation[d] * (kernel[d] - 1) + 1
    };
    // (head, tail) from a total: the odd one at the tail for SAME_UPPER, at the head
    // otherwise (NOTSET with output_shape too), as ORT 1.32 does (checked).
    let split = |total: usize| {
        if auto_pad == "SAME_UPPER" {
            (total / 2, total - total / 2)
        } else {
            (total - total / 2, total / 2)
        }
    };
    let mut padding = [0usize; 4];
    if let Some(os) = &output_shape {
        let spatial: &[i64] = match os.len() {
            2 => os,
            4 => &os[2..],
            _ => return Err(a.error("output_shape", format!("{os:?}: expected 2 spatial extents"))),
        };
        for d in 0..2 {
            let want = usize::try_from(spatial[d])
                .ok()
                .filter(|&o| o >= 1 && o <= full(d))
                .ok_or_else(|| {
                    a.error(
                        "output_shape",
                        format!(
                            "{os:?}: each extent must be between 1 and the unpadded output's {}",
                            full(d)
                        ),
                    )
                })?;
            (padding[d], padding[d + 2]) = split(full(d) - want);
        }
    } else if auto_pad.starts_with("SAME") {
        for d in 0..2 {
            let total = full(d).saturating_sub(input[d] * strides[d]);
            (padding[d], padding[d + 2]) = split(total);
        }
    } else if let (Some(p), "NOTSET") = (&pads, auto_pad.as_str()) {
        if p.len() != 4 || p.iter().any(|&x| x < 0) {
            return Err(a.error("pads", format!("{p:?}: expected four values ≥ 0 (2-D only)")));
        }
        padding = [p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize];
    }
    let conv = ConvTranspose2dAttrs { strides, padding, output_padding, dilation, groups };
    if (0..2).any(|d| conv.output_extent(d, input[d], kernel[d]).is_none()) {
        return Err(a.error(
            "pads",
            format!("padding {padding:?} leaves no output of the {h}×{wd} input (unpadded output {}×{})", full(0), full(1)),
        ));
    }
    Ok(conv)
}

/// Per-output-channel kernel parameters from ONNX's: per tensor, or along axis 1 of
/// `[C, M/G, kh, kw]` (`M/G` entries, the same for every group).
pub(super) fn kernel_params(q: &QuantParams, groups: usize) -> QuantParams {
    if q.channels() == 1 {
        return QuantParams { axis: None, ..q.clone() };
    }
    fn tile<T: Copy>(v: &[T], groups: usize) -> Vec<T> {
        if v.len() == 1 { v.to_vec() } else { v.repeat(groups) }
    }
    QuantParams {
        scale: tile(&q.scale, groups),
        zero_point: tile(&q.zero_point, groups),
        axis: Some(0),
    }
}

/// Whether a bias with parameters `b` joins the accumulator of input `x` and kernel `w`
/// (per output channel) exactly: zero point 0 and scale `f32(s_x · s_w[m])` for every `m`.
pub(super) fn bias_is_exact(x: &QuantParams, w: &QuantParams, b: &QuantParams, m: usize) -> bool {
    let sx = x.scale[0];
    (b.channels() == 1 || b.channels() == m)
        && b.zero_point.iter().all(|&z| z == 0)
        && (0..m).all(|k| b.scale_at(k) == sx * w.scale_at(k))
}

/// `qnn.conv2d_transpose → [add bias] → requantize` named `name`; `w` with ONNX's
/// parameters.
pub(super) fn build(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: Operand,
    w: Operand,
    bias: Option<(ValueId, QuantParams)>,
    out: &Out,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let (xs, ws) = (im.ty(x.value).shape, im.ty(w.value).shape);
    let conv = attrs(n, &xs, &ws)?;
    let m = ws[1] * conv.groups;
    let kernel = kernel_params(&w.q, conv.groups);
    if w.q.channels() > 1 && w.q.channels() != ws[1] {
        return Err(n.input_error(
            1,
            format!("{} weight scales: per-channel weights of a ConvTranspose run along axis 1 ({} entries)", w.q.channels(), ws[1]),
        ));
    }
    if let Some((_, bq)) = &bias
        && !bias_is_exact(&x.q, &kernel, bq, m)
    {
        return Err(n.unsupported(format!(
            "bias scale {:?} (zero point {:?}) is not input scale × weight scale: ONNX Runtime adds such a bias in float, which the integer accumulation cannot reproduce",
            bq.scale, bq.zero_point
        )));
    }
    let op = Op::QnnConv2dTranspose { conv, input: x.q.clone(), kernel: kernel.clone() };
    let mut acc = im.emit(n, &format!("{name}/conv_transpose"), op, &[x.value, w.value])?;
    if let Some((b, _)) = bias {
        let b = channel_vector(im, n, b, m, &[1, m, 1, 1])?;
        acc = im.emit(n, &format!("{name}/bias"), Op::Add, &[acc, b])?;
    }
    finish(im, n, acc, &x.q, &kernel, 1.0, 1, out, name)
}
