//! Convolution and pooling windows from ONNX attributes: `kernel_shape`, `strides`, `pads`,
//! `dilations`, `auto_pad` (NOTSET, VALID, SAME_UPPER, SAME_LOWER) and pooling's `ceil_mode`.

use super::node::Node;
use crate::error::OnnxError;

/// A 2-D window. `padding` is (top, left, bottom, right), as qnn-ir has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub dilation: [usize; 2],
    pub padding: [usize; 4],
}

fn pair(
    n: &Node<'_>,
    attr: &str,
    v: Option<Vec<i64>>,
    default: usize,
) -> Result<[usize; 2], OnnxError> {
    match v {
        None => Ok([default; 2]),
        Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 1) => Ok([v[0] as usize, v[1] as usize]),
        Some(v) => {
            Err(n.attrs.error(attr, format!("{v:?}: expected two values ≥ 1 (2-D windows only)")))
        }
    }
}

/// Reads the window attributes for input spatial size `input` (H, W). `kernel` comes from
/// the weights for a convolution (checked against `kernel_shape` when given) and from
/// `kernel_shape` for a pool. `ceil_mode` is read for pools only.
pub(crate) fn window(
    n: &Node<'_>,
    input: [usize; 2],
    kernel: Option<[usize; 2]>,
    pool: bool,
) -> Result<Window, OnnxError> {
    let a = &n.attrs;
    let ks = a.ints("kernel_shape")?;
    let kernel = match (kernel, ks) {
        (Some(k), None) => k,
        (Some(k), Some(v)) => {
            if v.len() != 2 || v[0] != k[0] as i64 || v[1] != k[1] as i64 {
                return Err(
                    a.error("kernel_shape", format!("{v:?} does not match the weights' {k:?}"))
                );
            }
            k
        }
        (None, v) => pair(
            n,
            "kernel_shape",
            Some(v.ok_or_else(|| a.error("kernel_shape", "is required"))?),
            1,
        )?,
    };
    let strides = pair(n, "strides", a.ints("strides")?, 1)?;
    let dilation = pair(n, "dilations", a.ints("dilations")?, 1)?;
    let ceil = if pool { a.flag("ceil_mode", false)? } else { false };
    let auto_pad = a.string("auto_pad")?.unwrap_or_else(|| "NOTSET".into());
    let pads = a.ints("pads")?;
    let mut padding = match (auto_pad.as_str(), &pads) {
        ("NOTSET", None) | ("VALID", _) => [0; 4],
        ("NOTSET", Some(p)) => {
            if p.len() != 4 || p.iter().any(|&x| x < 0) {
                return Err(
                    a.error("pads", format!("{p:?}: expected four values ≥ 0 (2-D windows only)"))
                );
            }
            [p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize]
        }
        ("SAME_UPPER" | "SAME_LOWER", _) => {
            let mut pad = [0; 4];
            for d in 0..2 {
                let out = input[d].div_ceil(strides[d]);
                let span = dilation[d].saturating_mul(kernel[d] - 1).saturating_add(1);
                let total = (out.max(1) - 1)
                    .saturating_mul(strides[d])
                    .saturating_add(span)
                    .saturating_sub(input[d]);
                let (small, large) = (total / 2, total - total / 2);
                let (begin, end) =
                    if auto_pad == "SAME_UPPER" { (small, large) } else { (large, small) };
                pad[d] = begin;
                pad[d + 2] = end;
            }
            pad
        }
        (other, _) => {
            return Err(a.error(
                "auto_pad",
                format!("`{other}` is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER"),
            ));
        }
    };
    // Explicit pads next to an auto_pad: ONNX Runtime refuses the pair; qnn accepts it only
    // where the pads are the ones auto_pad computes (the answer is the same either way).
    if let (true, Some(p)) = (auto_pad != "NOTSET", &pads) {
        let given: Vec<i64> = p.clone();
        let computed: Vec<i64> = padding.iter().map(|&x| x as i64).collect();
        if given != computed {
            return Err(a.error(
                "pads",
                format!(
                    "{given:?} conflicts with auto_pad `{auto_pad}`, which gives {computed:?} \
                     here: give one of the two"
                ),
            ));
        }
    }
    if ceil {
        // ceil_mode: one more window where the last one starts inside the (begin-padded)
        // input; the missing cells are padding at the end.
        for d in 0..2 {
            let span = dilation[d].saturating_mul(kernel[d] - 1).saturating_add(1);
            let padded = input[d].saturating_add(padding[d]).saturating_add(padding[d + 2]);
            if padded < span {
                break;
            }
            let mut out = (padded - span).div_ceil(strides[d]) + 1;
            if (out - 1).saturating_mul(strides[d]) >= input[d].saturating_add(padding[d]) {
                out -= 1;
            }
            let need = (out - 1).saturating_mul(strides[d]).saturating_add(span);
            padding[d + 2] = padding[d + 2].saturating_add(need.saturating_sub(padded));
        }
    }
    Ok(Window { kernel, strides, dilation, padding })
}

/// Spatial (H, W) of a 4-D shape in NCHW or NHWC.
pub(crate) fn spatial(
    n: &Node<'_>,
    shape: &[usize],
    channels_last: bool,
) -> Result<[usize; 2], OnnxError> {
    match (shape, channels_last) {
        ([_, _, h, w], false) | ([_, h, w, _], true) => Ok([*h, *w]),
        _ => Err(n.input_error(
            0,
            format!("shape {shape:?}: only 2-D (4-D tensor) windows are supported"),
        )),
    }
}
