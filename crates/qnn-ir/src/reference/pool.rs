//! Window pooling: core `pool2d` (sum into i32, max), `qnn.avg_pool2d`,
//! `qnn.global_avg_pool2d` and `qnn.max_pool2d`, as loops over NCHW-normalized `i64` arrays.

use ndarray::{Array4, ArrayD, Ix4};

use super::conv::{from_nchw, to_nchw};
use super::requantize::Multiplier;
use super::support::{attr_error, check_i32, clamp_f32, int_range, ints, param_at, shape_error};
use crate::dtype::DType;
use crate::error::IrError;
use crate::ops::{DataLayout, Pool2dAttrs, PoolKind, Rounding, window_output};
use crate::quant::QuantParams;
use crate::tensor::Tensor;

/// Core `pool2d`. `Sum`: `Σ_window P` into i32 with padded cells holding `pad_value`.
/// `Max`: the largest unpadded cell, in the input dtype (`pad_value` plays no part); on f32
/// NaN cells never win (`f32::max`).
pub(super) fn pool2d(
    op: &str,
    x: &Tensor,
    kind: PoolKind,
    pool: &Pool2dAttrs,
    pad_value: i32,
) -> Result<Tensor, IrError> {
    if let Tensor::F32(a) = x {
        let a = to_nchw_f32(op, a, pool.layout)?;
        let y = pooled(op, &a, pool, |_, cells| match kind {
            // Window order, from +0: the order ONNX Runtime's average pooling sums in.
            PoolKind::Sum => {
                Ok(cells.iter().fold(0f32, |acc, c| acc + c.unwrap_or(pad_value as f32)))
            }
            PoolKind::Max => cells.iter().flatten().copied().reduce(f32::max).ok_or_else(|| {
                attr_error(op, "padding", "", "a window covers only padding: it has no maximum")
            }),
        })?;
        let y = y.into_dyn();
        return Ok(Tensor::F32(match pool.layout {
            DataLayout::Nchw => y,
            DataLayout::Nhwc => y.permuted_axes(vec![0, 2, 3, 1]).as_standard_layout().into_owned(),
        }));
    }
    let a = to_nchw(op, ints(op, x, 0)?, pool.layout)?;
    let y = match kind {
        PoolKind::Sum => {
            let y = pooled(op, &a, pool, |_, cells| {
                Ok(cells.iter().map(|c| c.unwrap_or(i64::from(pad_value))).sum())
            })?;
            let y = from_nchw(y.into_dyn(), pool.layout);
            check_i32(op, &y)?;
            return Tensor::from_i64(op, DType::I32, y);
        }
        PoolKind::Max => pooled(op, &a, pool, |_, cells| max_unpadded(op, cells))?,
    };
    Tensor::from_i64(op, x.dtype(), from_nchw(y.into_dyn(), pool.layout))
}

fn to_nchw_f32(op: &str, a: &ArrayD<f32>, layout: DataLayout) -> Result<Array4<f32>, IrError> {
    let shape = a.shape().to_vec();
    let a = a
        .view()
        .into_dimensionality::<Ix4>()
        .map_err(|_| shape_error(op, format!("data must be 4-D, got shape {shape:?}")))?;
    Ok(a.permuted_axes(layout.axes()).as_standard_layout().into_owned())
}

/// `qnn.max_pool2d`: the largest unpadded cell (same parameters in and out).
pub(super) fn qnn_max_pool2d(op: &str, x: &Tensor, pool: &Pool2dAttrs) -> Result<Tensor, IrError> {
    pool2d(op, x, PoolKind::Max, pool, 0)
}

/// `qnn.avg_pool2d`: `sum = Σ (x − zp_in)` over the window's unpadded cells, `count` the window
/// size (`count_include_pad`) or the number of unpadded cells; fixed modes requantize it with
/// `M = s_in / (s_out · count)` (in f64). Float mode is ONNX Runtime's QLinearAveragePool, in
/// f32 throughout: `avg = (Σ f32(x − zp_in) · s_in) / f32(count)` summed in window order from
/// +0, then `clamp(round_half_even(f32(avg / s_out) + f32(zp_out)))`.
#[allow(clippy::too_many_arguments)]
pub(super) fn qnn_avg_pool2d(
    op: &str,
    x: &Tensor,
    pool: &Pool2dAttrs,
    count_include_pad: bool,
    input: &QuantParams,
    output: &QuantParams,
    rounding: Rounding,
    out_dtype: DType,
) -> Result<Tensor, IrError> {
    let a = to_nchw(op, ints(op, x, 0)?, pool.layout)?;
    let range = int_range(op, out_dtype)?;
    let window = pool.kernel[0] * pool.kernel[1];
    let y = pooled(op, &a, pool, |c, cells| {
        let (s_in, zp_in) = channel_param(op, "input", input, pool.layout, c)?;
        let (s_out, zp_out) = channel_param(op, "output", output, pool.layout, c)?;
        let inside: Vec<i64> = cells.iter().flatten().copied().collect();
        let count = if count_include_pad { window } else { inside.len() };
        if count == 0 {
            return Err(attr_error(
                op,
                "padding",
                format!("{:?}", pool.padding),
                "a window covers only padding: its average is undefined",
            ));
        }
        if rounding == Rounding::Float {
            let sum =
                inside.iter().fold(0f32, |acc, &v| acc + (v - i64::from(zp_in)) as f32 * s_in);
            let avg = sum / count as f32;
            return Ok(clamp_f32(((avg / s_out) + zp_out as f32).round_ties_even(), range));
        }
        let sum: i64 = inside.iter().map(|v| v - i64::from(zp_in)).sum();
        let real = f64::from(s_in) / (f64::from(s_out) * count as f64);
        Ok(Multiplier::new(op, rounding, real, 0.0)?.requantize(sum, zp_out, range))
    })?;
    Tensor::from_i64(op, out_dtype, from_nchw(y.into_dyn(), pool.layout))
}

/// `qnn.global_avg_pool2d`: `sum = Σ (x − zp_in)` over H×W, requantized with
/// `M = s_in / (s_out · H·W)`: fixed modes in f64; float mode as ONNX Runtime's
/// QLinearGlobalAveragePool (MLAS) computes it, `f32(s_in / f32(s_out · f32(H·W)))`, then
/// `clamp(round_half_even(f32(sum) · M) + zp_out)`.
pub(super) fn qnn_global_avg_pool2d(
    op: &str,
    x: &Tensor,
    layout: DataLayout,
    input: &QuantParams,
    output: &QuantParams,
    rounding: Rounding,
    out_dtype: DType,
) -> Result<Tensor, IrError> {
    let [_, _, h, w] = shape4(op, x.shape(), layout)?;
    let pool =
        Pool2dAttrs { kernel: [h, w], strides: [1, 1], padding: [0; 4], dilation: [1, 1], layout };
    let a = to_nchw(op, ints(op, x, 0)?, layout)?;
    let range = int_range(op, out_dtype)?;
    let count = h * w;
    let y = pooled(op, &a, &pool, |c, cells| {
        let (s_in, zp_in) = channel_param(op, "input", input, layout, c)?;
        let (s_out, zp_out) = channel_param(op, "output", output, layout, c)?;
        let sum: i64 = cells.iter().flatten().map(|v| v - i64::from(zp_in)).sum();
        let real = f64::from(s_in) / (f64::from(s_out) * count as f64);
        let float = s_in / (s_out * count as f32);
        Ok(Multiplier::new(op, rounding, real, float)?.requantize(sum, zp_out, range))
    })?;
    Tensor::from_i64(op, out_dtype, from_nchw(y.into_dyn(), layout))
}

fn shape4(op: &str, shape: &[usize], layout: DataLayout) -> Result<[usize; 4], IrError> {
    if shape.len() != 4 {
        return Err(shape_error(op, format!("data must be 4-D, got shape {shape:?}")));
    }
    Ok(layout.nchw(shape))
}

/// Scale and zero point of channel `c`; per-axis parameters must run along the channel axis.
fn channel_param(
    op: &str,
    what: &str,
    q: &QuantParams,
    layout: DataLayout,
    c: usize,
) -> Result<(f32, i32), IrError> {
    if q.channels() > 1 && q.axis != Some(layout.channel_axis()) {
        return Err(attr_error(
            op,
            "axis",
            format!("{:?}", q.axis),
            &format!("{what} parameters of a pool may vary only along the channel axis"),
        ));
    }
    param_at(op, what, q, &layout.shape(0, c, 0, 0))
}

fn max_unpadded(op: &str, cells: &[Option<i64>]) -> Result<i64, IrError> {
    cells.iter().flatten().copied().max().ok_or_else(|| {
        attr_error(op, "padding", "", "a window covers only padding: it has no maximum")
    })
}

/// Applies `reduce(channel, cells)` to every window of NCHW `x`; a cell is `None` when it lies
/// in the padding.
fn pooled<T: Copy + Default>(
    op: &str,
    x: &Array4<T>,
    pool: &Pool2dAttrs,
    mut reduce: impl FnMut(usize, &[Option<T>]) -> Result<T, IrError>,
) -> Result<Array4<T>, IrError> {
    let (n, c, h, w) = x.dim();
    let [kh, kw] = pool.kernel;
    let [sh, sw] = pool.strides;
    let [dh, dw] = pool.dilation;
    let [pt, pl, pb, pr] = pool.padding;
    let (Some(oh), Some(ow)) =
        (window_output(h, pt, pb, kh, sh, dh), window_output(w, pl, pr, kw, sw, dw))
    else {
        return Err(shape_error(op, format!("the {kh}×{kw} window does not fit {h}×{w}")));
    };
    let mut y = Array4::<T>::default((n, c, oh, ow));
    let mut cells = Vec::with_capacity(kh * kw);
    for b in 0..n {
        for ch in 0..c {
            for oy in 0..oh {
                for ox in 0..ow {
                    cells.clear();
                    for r in 0..kh {
                        for s in 0..kw {
                            let py = oy * sh + r * dh;
                            let px = ox * sw + s * dw;
                            let inside = (pt..pt + h).contains(&py) && (pl..pl + w).contains(&px);
                            cells.push(inside.then(|| x[[b, ch, py - pt, px - pl]]));
                        }
                    }
                    y[[b, ch, oy, ox]] = reduce(ch, &cells)?;
                }
            }
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(kernel: [usize; 2], strides: [usize; 2], padding: [usize; 4]) -> Pool2dAttrs {
        Pool2dAttrs { kernel, strides, padding, dilation: [1, 1], layout: DataLayout::Nchw }
    }

    #[test]
    fn sum_and_max_with_padding() {
        let x = Tensor::from_vec(&[1, 1, 2, 2], vec![-1i8, -2, -3, -4]).unwrap();
        let p = attrs([2, 2], [1, 1], [1, 1, 0, 0]);
        let s = pool2d("pool2d", &x, PoolKind::Sum, &p, 5).unwrap();
        // windows: (pad,pad,pad,-1) (pad,pad,-1,-2) (pad,-1,pad,-3) (-1,-2,-3,-4)
        assert_eq!(s, Tensor::from_vec(&[1, 1, 2, 2], vec![14i32, 7, 6, -10]).unwrap());
        let m = pool2d("pool2d", &x, PoolKind::Max, &p, 5).unwrap();
        assert_eq!(m, Tensor::from_vec(&[1, 1, 2, 2], vec![-1i8, -1, -1, -1]).unwrap());
        let all_pad = attrs([1, 1], [1, 1], [1, 0, 0, 0]);
        assert!(matches!(
            pool2d("pool2d", &x, PoolKind::Max, &all_pad, 0),
            Err(IrError::Attribute { .. })
        ));
        let big = Tensor::from_vec(&[1, 1, 1, 2], vec![i32::MAX, 1]).unwrap();
        let e = pool2d("pool2d", &big, PoolKind::Sum, &attrs([1, 2], [1, 1], [0; 4]), 0);
        assert!(matches!(e, Err(IrError::AccumulatorOverflow { .. })));
    }

    #[test]
    fn nhwc_max_pool_strided() {
        // NHWC 1×2×2×2: channel 0 = [1, 5, 3, 2], channel 1 = [8, 0, 0, 9]
        let x = Tensor::from_vec(&[1, 2, 2, 2], vec![1u8, 8, 5, 0, 3, 0, 2, 9]).unwrap();
        let p = Pool2dAttrs { layout: DataLayout::Nhwc, ..attrs([2, 2], [2, 2], [0; 4]) };
        let y = qnn_max_pool2d("qnn.max_pool2d", &x, &p).unwrap();
        assert_eq!(y, Tensor::from_vec(&[1, 1, 1, 2], vec![5u8, 9]).unwrap());
    }

    #[test]
    fn avg_pool_count_include_pad() {
        // 1×1×1×2 data [10, 13] zp 1, window 1×3 with padding 1 left and right on W.
        let x = Tensor::from_vec(&[1, 1, 1, 2], vec![10u8, 13]).unwrap();
        let p = attrs([1, 3], [1, 1], [0, 1, 0, 1]);
        let q = QuantParams::per_tensor(1.0, 1);
        // Unpadded sums: (9 + 12) = 21 in both windows. Counts: 3 (include pad) or 2.
        for rounding in Rounding::ALL {
            let y = qnn_avg_pool2d("qnn.avg_pool2d", &x, &p, true, &q, &q, rounding, DType::U8);
            assert_eq!(y.unwrap(), Tensor::from_vec(&[1, 1, 1, 2], vec![8u8, 8]).unwrap());
            let y = qnn_avg_pool2d("qnn.avg_pool2d", &x, &p, false, &q, &q, rounding, DType::U8);
            // 21 / 2 = 10.5 → 11 (upward, tonearest, tflite), plus zp 1. Float (ORT's
            // QLinearAveragePool) adds the zero point before rounding: 11.5 → 12 (half even).
            let expect = 12u8;
            assert_eq!(y.unwrap(), Tensor::from_vec(&[1, 1, 1, 2], vec![expect; 2]).unwrap());
        }
        let pad_only = attrs([1, 1], [1, 1], [0, 1, 0, 0]);
        let e = qnn_avg_pool2d(
            "qnn.avg_pool2d",
            &x,
            &pad_only,
            false,
            &q,
            &q,
            Rounding::Float,
            DType::U8,
        );
        assert!(matches!(e, Err(IrError::Attribute { .. })));
        let along_h = QuantParams::per_axis(vec![1.0, 2.0], vec![0], 2);
        let e = qnn_avg_pool2d(
            "qnn.avg_pool2d",
            &x,
            &p,
            true,
            &along_h,
            &q,
            Rounding::Float,
            DType::U8,
        );
        assert!(matches!(e, Err(IrError::Attribute { .. })));
    }

    #[test]
    fn float_avg_pool_sums_dequantized_values_in_f32() {
        // x = [1, 1, 5] (zp 0) at scale 0.3, averaged over 3, output scale 0.2, zp 3: the real
        // value is 0.7 / 0.2 + 3 ≈ 6.5. ORT's f32 path (f32(0.3) + f32(0.3) + f32(1.5)) / 3 /
        // 0.2 = 3.5 exactly, + 3 = 6.5 → 6 (half even); the fixed modes requantize the integer
        // sum 7 with M = 0.3 / (0.2 · 3) ≈ 0.5000000198 (f64 of the f32 scales): 3.50… → 4 + 3.
        let x = Tensor::from_vec(&[1, 1, 1, 3], vec![1u8, 1, 5]).unwrap();
        let p = attrs([1, 3], [1, 1], [0; 4]);
        let (qi, qo) = (QuantParams::per_tensor(0.3, 0), QuantParams::per_tensor(0.2, 3));
        let run =
            |r| qnn_avg_pool2d("qnn.avg_pool2d", &x, &p, true, &qi, &qo, r, DType::U8).unwrap();
        let (s, so) = (0.3f32, 0.2f32);
        let avg = (((0.0f32 + s) + s) + 5.0 * s) / 3.0;
        assert_eq!(((avg / so) + 3.0).round_ties_even(), 6.0);
        assert_eq!(run(Rounding::Float), Tensor::from_vec(&[1, 1, 1, 1], vec![6u8]).unwrap());
        assert_eq!(run(Rounding::Upward), Tensor::from_vec(&[1, 1, 1, 1], vec![7u8]).unwrap());
    }

    #[test]
    fn f32_max_pool_ignores_nan_and_padding() {
        let x = Tensor::from_vec(&[1, 1, 1, 3], vec![-1.5f32, f32::NAN, -0.5]).unwrap();
        let p = attrs([1, 2], [1, 1], [0, 1, 0, 0]);
        let y = pool2d("pool2d", &x, PoolKind::Max, &p, 0).unwrap();
        assert_eq!(y, Tensor::from_vec(&[1, 1, 1, 3], vec![-1.5f32, -1.5, -0.5]).unwrap());
        // Sum in f32: NaN propagates, padding adds +0.
        let s = pool2d("pool2d", &x, PoolKind::Sum, &p, 0).unwrap();
        let Tensor::F32(s) = s else { panic!("f32 sum pool must give f32") };
        assert!(s[[0, 0, 0, 1]].is_nan() && s[[0, 0, 0, 2]].is_nan());
        assert_eq!(s[[0, 0, 0, 0]], -1.5);
    }

    #[test]
    fn global_avg_pool_per_channel_nhwc() {
        // NHWC 1×1×2×2: channel 0 [4, 7], channel 1 [250, 255]; input scale per channel.
        let x = Tensor::from_vec(&[1, 1, 2, 2], vec![4u8, 250, 7, 255]).unwrap();
        let input = QuantParams::per_axis(vec![0.5, 1.0], vec![0, 250], 3);
        let output = QuantParams::per_tensor(1.0, 0);
        for rounding in Rounding::ALL {
            let y = qnn_global_avg_pool2d(
                "qnn.global_avg_pool2d",
                &x,
                DataLayout::Nhwc,
                &input,
                &output,
                rounding,
                DType::U8,
            );
            // c0: 11 · 0.5 / 2 = 2.75 → 3; c1: 5 · 1 / 2 = 2.5 → 3 (fixed) or 2 (half even).
            let c1 = if rounding == Rounding::Float { 2u8 } else { 3 };
            assert_eq!(y.unwrap(), Tensor::from_vec(&[1, 1, 1, 2], vec![3u8, c1]).unwrap());
        }
    }
}
