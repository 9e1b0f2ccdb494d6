//! `Resize` (opsets 10–19) → the core `resize` op, with
//! the attributes ONNX Runtime's `UpsampleBase` derives from the node: the output shape and
//! per-axis scales (from `scales` or `sizes`, `axes`, `keep_aspect_ratio_policy`), the
//! coordinate transform, the nearest mode and the roi. What ORT's CPU kernel computes in
//! another code path (NHWC-style integer bilinear, trilinear, anti-aliasing) is refused.
//! `Upsample` left the standard at opset 10, where qnn's opset range starts (ORT rejects it
//! there too): it is refused with that reason.

use qnn_ir::{CoordinateMode, NearestMode, Op, ResizeAttrs, ResizeMode, ValueId};

use super::context::Importer;
use super::node::{Form, Node};
use crate::error::OnnxError;

pub(super) fn import(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    if n.op() == "Upsample" {
        return Err(n.unsupported(format!(
            "Upsample was removed in opset 10 (this model's opset is {}; ONNX Runtime rejects it \
             too): use Resize",
            im.m.opset
        )));
    }
    let x = im.value(n, 0)?;
    let out = n.output(0)?;
    let y = build(im, n, x, out)?;
    im.bind(out, y);
    Ok(Form::Float)
}

/// Emits the `resize` of `x` that node `n` describes, named `name`.
pub(super) fn build(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    x: ValueId,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let t = im.ty(x);
    if !matches!(t.dtype, qnn_ir::DType::U8 | qnn_ir::DType::I8 | qnn_ir::DType::F32) {
        return Err(
            n.input_error(0, format!("element type {} is not supported (u8, i8 or f32)", t.dtype))
        );
    }
    let attrs = attrs(im, n, &t.shape)?;
    if attrs.mode == ResizeMode::Cubic && t.dtype.is_8bit() && attrs.sizes != t.shape {
        // ORT 1.32 registers Resize for u8/i8 but its bicubic code writes f32: the session
        // fails at run time ("Tensor type mismatch").
        return Err(n.unsupported(format!(
            "cubic resizing of {} data: ONNX Runtime's kernel fails on 8-bit tensors",
            t.dtype
        )));
    }
    im.emit(n, name, Op::Resize { resize: attrs }, &[x])
}

fn floats_of(im: &Importer<'_>, n: &Node<'_>, i: usize) -> Result<Option<Vec<f32>>, OnnxError> {
    match im.opt_constant(n, i)? {
        None => Ok(None),
        Some(c) if c.is_empty() => Ok(None),
        Some(c) => c
            .floats()
            .map(|v| Some(v.to_vec()))
            .ok_or_else(|| n.input_error(i, "must be a float tensor")),
    }
}

fn attrs(im: &Importer<'_>, n: &Node<'_>, input: &[usize]) -> Result<ResizeAttrs, OnnxError> {
    let a = &n.attrs;
    let opset = im.m.opset;
    let rank = input.len();
    if rank == 0 {
        return Err(n.input_error(0, "a scalar cannot be resized"));
    }
    let mode_name = a.string("mode")?.unwrap_or_else(|| "nearest".into());
    let mode: ResizeMode = mode_name.parse().map_err(|_| {
        a.error("mode", format!("`{mode_name}`: expected nearest, linear or cubic"))
    })?;
    let coordinate = if opset > 10 {
        let s = a.string("coordinate_transformation_mode")?.unwrap_or_else(|| "half_pixel".into());
        s.parse::<CoordinateMode>().map_err(|e| a.error("coordinate_transformation_mode", e))?
    } else {
        CoordinateMode::Asymmetric
    };
    let nearest = if opset >= 11 && mode == ResizeMode::Nearest {
        let s = a.string("nearest_mode")?.unwrap_or_else(|| "round_prefer_floor".into());
        if s == "simple" {
            return Err(a.error("nearest_mode", "`simple` is not an ONNX nearest mode"));
        }
        s.parse::<NearestMode>().map_err(|e| a.error("nearest_mode", e))?
    } else {
        let _ = a.string("nearest_mode")?;
        NearestMode::Simple
    };
    let cubic_coeff_a = a.float_or("cubic_coeff_a", -0.75)?;
    let exclude_outside = a.int_or("exclude_outside", 0)? != 0;
    if exclude_outside && mode != ResizeMode::Cubic {
        return Err(
            a.error("exclude_outside", "is only allowed with mode `cubic` (ORT refuses it)")
        );
    }
    let extrapolation_value = a.float_or("extrapolation_value", 0.0)?;
    let (mut axes, policy) = if opset >= 18 {
        if a.int_or("antialias", 0)? != 0 {
            return Err(a.error("antialias", "anti-aliased resizing is not supported"));
        }
        let axes = match a.ints("axes")? {
            None => vec![],
            Some(v) => v
                .iter()
                .map(|&ax| {
                    let r = rank as i64;
                    if (-r..r).contains(&ax) {
                        Ok(((ax + r) % r) as usize)
                    } else {
                        Err(a.error("axes", format!("{v:?}: out of range for rank {rank}")))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let policy = a.string("keep_aspect_ratio_policy")?.unwrap_or_else(|| "stretch".into());
        if !matches!(policy.as_str(), "stretch" | "not_larger" | "not_smaller") {
            return Err(a.error(
                "keep_aspect_ratio_policy",
                format!("`{policy}` is not one of stretch, not_larger, not_smaller"),
            ));
        }
        (axes, policy)
    } else {
        (vec![], "stretch".to_string())
    };
    let mut unique = axes.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != axes.len() {
        return Err(a.error("axes", format!("{axes:?}: repeated axis")));
    }
    // Inputs: Resize-10 (X, scales); Resize-11+ (X, roi, scales, sizes).
    let (roi_in, scales_in, sizes_in) = if opset <= 10 {
        (None, floats_of(im, n, 1)?, None)
    } else {
        let sizes = match im.opt_constant(n, 3)? {
            Some(c) if !c.is_empty() => Some(
                c.ints()
                    .map(std::borrow::Cow::into_owned)
                    .ok_or_else(|| n.input_error(3, "sizes must be INT64"))?,
            ),
            _ => None,
        };
        (floats_of(im, n, 1)?, floats_of(im, n, 2)?, sizes)
    };
    let expand = |v: &[f32], fill: f32, what: &str| -> Result<Vec<f32>, OnnxError> {
        if axes.is_empty() {
            if v.len() != rank {
                return Err(n.unsupported(format!(
                    "{what} has {} entries for a rank-{rank} input",
                    v.len()
                )));
            }
            return Ok(v.to_vec());
        }
        if v.len() != axes.len() {
            return Err(n.unsupported(format!(
                "{what} has {} entries for {} axes",
                v.len(),
                axes.len()
            )));
        }
        let mut full = vec![fill; rank];
        for (k, &ax) in axes.iter().enumerate() {
            full[ax] = v[k];
        }
        Ok(full)
    };
    let (sizes, scales) = match (scales_in, sizes_in) {
        (Some(_), Some(_)) => {
            return Err(n.unsupported("only one of scales and sizes may be given"));
        }
        (Some(s), None) => {
            let scales = expand(&s, 1.0, "scales")?;
            if let Some(sc) = scales.iter().find(|sc| !(**sc > 0.0 && sc.is_finite())) {
                return Err(n.unsupported(format!("scale {sc} is not allowed (ORT needs > 0)")));
            }
            let sizes: Vec<usize> =
                input.iter().zip(&scales).map(|(&d, &s)| (s * d as f32) as i64 as usize).collect();
            (sizes, scales)
        }
        (None, Some(z)) => {
            let mut sizes: Vec<usize> = input.to_vec();
            if axes.is_empty() {
                if z.len() != rank {
                    return Err(
                        n.input_error(3, format!("{} sizes for a rank-{rank} input", z.len()))
                    );
                }
                for (k, &v) in z.iter().enumerate() {
                    sizes[k] =
                        usize::try_from(v).map_err(|_| n.input_error(3, format!("size {v}")))?;
                }
            } else {
                if z.len() != axes.len() {
                    return Err(
                        n.input_error(3, format!("{} sizes for {} axes", z.len(), axes.len()))
                    );
                }
                for (k, &ax) in axes.iter().enumerate() {
                    sizes[ax] = usize::try_from(z[k])
                        .map_err(|_| n.input_error(3, format!("size {}", z[k])))?;
                }
            }
            let mut scales: Vec<f32> = input
                .iter()
                .zip(&sizes)
                .map(|(&i, &o)| if i == 0 { 1.0 } else { o as f32 / i as f32 })
                .collect();
            if input.iter().zip(&sizes).any(|(&i, &o)| i == 0 && o != 0) {
                return Err(n.input_error(3, "an empty axis cannot be resized to a non-empty one"));
            }
            if policy != "stretch" {
                let chosen = |k: usize| axes.is_empty() || axes.contains(&k);
                let pick = (0..rank).filter(|&k| chosen(k)).map(|k| scales[k]);
                let s = if policy == "not_larger" {
                    pick.fold(f32::MAX, f32::min)
                } else {
                    pick.fold(f32::MIN_POSITIVE, f32::max)
                };
                for k in 0..rank {
                    if chosen(k) {
                        scales[k] = s;
                        sizes[k] = (s * input[k] as f32).round() as usize;
                    } else {
                        scales[k] = 1.0;
                        sizes[k] = input[k];
                    }
                }
            }
            if scales.iter().any(|&s| s.is_nan() || s <= 0.0) {
                return Err(n.input_error(3, format!("sizes {z:?} give a scale ≤ 0")));
            }
            (sizes, scales)
        }
        (None, None) => return Err(n.unsupported("one of scales and sizes is required")),
    };
    let roi = if coordinate == CoordinateMode::TfCropAndResize {
        match roi_in {
            None => vec![],
            Some(r) if !axes.is_empty() && r.len() == 2 * axes.len() => {
                let mut full: Vec<f32> =
                    vec![0.0; rank].into_iter().chain(vec![1.0; rank]).collect();
                for (k, &ax) in axes.iter().enumerate() {
                    full[ax] = r[k];
                    full[rank + ax] = r[axes.len() + k];
                }
                full
            }
            Some(r) if r.len() == 2 * rank => r,
            Some(r) => {
                return Err(n.input_error(
                    1,
                    format!("roi has {} entries; expected {}", r.len(), 2 * rank),
                ));
            }
        }
    } else {
        vec![]
    };
    axes.clear();
    let same = sizes == input;
    match mode {
        ResizeMode::Nearest => {}
        ResizeMode::Linear | ResizeMode::Cubic if same => {}
        ResizeMode::Linear | ResizeMode::Cubic => {
            let name = if mode == ResizeMode::Linear { "linear" } else { "cubic" };
            axes = match rank {
                2 => vec![0, 1],
                4 if scales[0] == 1.0 && scales[1] == 1.0 => vec![2, 3],
                4 if mode == ResizeMode::Linear && scales[0] == 1.0 && scales[3] == 1.0 => {
                    return Err(n.unsupported(format!("{name} resizing of axes 1 and 2 of a 4-D tensor (ONNX Runtime's NHWC kernel) is not supported")));
                }
                3 | 5 if mode == ResizeMode::Linear => {
                    return Err(n.unsupported("trilinear resizing is not supported"));
                }
                _ => {
                    return Err(n.unsupported(format!(
                        "{name} resizing needs a 2-D input or a 4-D input with scales [1, 1, h, w] (scales {scales:?})"
                    )));
                }
            };
        }
    }
    Ok(ResizeAttrs {
        mode,
        coordinate,
        nearest,
        sizes,
        scales,
        roi,
        axes,
        cubic_coeff_a,
        exclude_outside,
        extrapolation_value,
    })
}
