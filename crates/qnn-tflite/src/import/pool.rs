//! AVERAGE_POOL_2D and MAX_POOL_2D on 8-bit NHWC tensors, as TFLite computes them: the same
//! parameters in and out, padded cells left out of the window.
//!
//! TFLite's average is integer arithmetic on the raw values: `Σ x` over the window's cells
//! inside the input, divided by their count `c` rounding half away from zero. Here: a core
//! `pool2d` sum (padding 0 adds nothing), then a core `requantize` by `1/c` per output position
//! with one rounding, ties away from zero (`tonearest`), and the multiplier `m ≥ 1/c` rounded
//! up. Why that is exact: `|m − 1/c| ≤ 2^(−31) · 2^(1−e) < 2^(−30)/c` (`2^(e−1) < c ≤ 2^e`), so
//! `|Σ x · m − Σ x / c| < 256 · c · 2^(−30)/c = 2^(−22)`, while a quotient `Σ x / c` that is not a
//! tie lies at least `1/(2c) > 2^(−22)` (for `c < 2^20`) from the nearest one: the rounding
//! goes where TFLite's does, and an exact tie, moved away from zero by `m ≥ 1/c`, too.

use qnn_ir::{DataLayout, FixedPointMultiplier, FixedRounding, Op, Pool2dAttrs, PoolKind};

use super::arith::{activation_range, clamp, requantize, stem_before_clamp};
use super::context::{Ctx, OpRef};
use super::linear::padding;
use crate::error::TfliteError;
use crate::generated as fb;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Average,
    Max,
}

/// The largest window count whose `1/c` the rounded-up multiplier divides exactly.
const MAX_COUNT: usize = 1 << 20;

pub(super) fn pool(cx: &mut Ctx<'_>, o: &OpRef<'_>, kind: Kind) -> Result<(), TfliteError> {
    let opts =
        o.op.builtin_options_as_pool_2_doptions().ok_or_else(|| o.error("no Pool2DOptions"))?;
    let pos = |what: &str, v: i32| {
        usize::try_from(v)
            .ok()
            .filter(|&v| v >= 1)
            .ok_or_else(|| o.error(format!("{what} {v} must be ≥ 1")))
    };
    let kernel =
        [pos("filter_height", opts.filter_height())?, pos("filter_width", opts.filter_width())?];
    let strides = [pos("stride_h", opts.stride_h())?, pos("stride_w", opts.stride_w())?];
    let same = match opts.padding() {
        fb::Padding::SAME => true,
        fb::Padding::VALID => false,
        p => return Err(o.unsupported(format!("padding {}", p.0))),
    };
    let (xi, yi) = (cx.info(o.input(0)?)?, cx.info(o.output(0)?)?);
    if !xi.dtype.is_8bit() || xi.dtype != yi.dtype {
        return Err(o.unsupported(format!(
            "{} input, {} output (the same 8-bit type expected)",
            xi.dtype, yi.dtype
        )));
    }
    let [_, h, w, _] = xi.shape[..] else {
        return Err(o.unsupported(format!("input of shape {:?} (rank 4 expected)", xi.shape)));
    };
    let (_, zx) = xi.per_tensor(o, "input")?;
    let (so, zo) = yi.per_tensor(o, "output")?;
    if zx != zo {
        return Err(
            o.unsupported(format!("input zero point {zx} and output zero point {zo} differ"))
        );
    }
    let pads = padding(o, [h, w], kernel, strides, [1, 1], same)?;
    let attrs =
        Pool2dAttrs { kernel, strides, padding: pads, dilation: [1, 1], layout: DataLayout::Nhwc };
    let x = cx.value(o.input(0)?)?;
    let range = activation_range(o, opts.fused_activation_function(), (so, zo), yi.dtype)?;
    let y = match kind {
        Kind::Max => {
            let stem = stem_before_clamp(&yi.name, "max", range, yi.dtype);
            cx.emit(o, &stem, Op::QnnMaxPool2d { pool: attrs }, &[x])?
        }
        Kind::Average => {
            let sum = Op::Pool2d { kind: PoolKind::Sum, pool: attrs.clone(), pad_value: 0 };
            let sum = cx.emit(o, &format!("{}/sum", yi.name), sum, &[x])?;
            let [_, oh, ow, _] = cx.b.graph().ty(sum).shape[..] else {
                return Err(o.error("pooled sum of unexpected rank"));
            };
            let mut mults = Vec::with_capacity(oh * ow);
            for oy in 0..oh {
                for ox in 0..ow {
                    let rows = inside(oy, strides[0], pads[0], kernel[0], h);
                    let cols = inside(ox, strides[1], pads[1], kernel[1], w);
                    let c = rows * cols;
                    let m = reciprocal_up(c)
                        .ok_or_else(|| o.unsupported(format!("a pooling window of {c} cells")))?;
                    mults.push(m);
                }
            }
            let axes = if mults.iter().all(|m| *m == mults[0]) {
                mults.truncate(1);
                vec![]
            } else {
                vec![1, 2]
            };
            let stem = stem_before_clamp(&yi.name, "average", range, yi.dtype);
            requantize(cx, o, &stem, sum, mults, FixedRounding::ToNearest, axes, (0, 0), yi.dtype)?
        }
    };
    let y = clamp(cx, o, &yi.name, y, range, yi.dtype)?;
    cx.bind(o, o.output(0)?, y)
}

/// Cells of window `i` (stride, padding before, kernel) inside an input of extent `n`.
fn inside(i: usize, stride: usize, pad: usize, kernel: usize, n: usize) -> usize {
    let start = (i * stride) as i64 - pad as i64;
    let (lo, hi) = (start.max(0), (start + kernel as i64).min(n as i64));
    (hi - lo).max(0) as usize
}

/// `1/c` as a fixed-point multiplier rounded up: `q = ceil(2^(30+e) / c)`, shift `1 − e`
/// with `2^(e−1) < c ≤ 2^e` (exact when `c` is a power of two).
/// `None` for an empty window or one of `MAX_COUNT` cells or more.
fn reciprocal_up(c: usize) -> Option<FixedPointMultiplier> {
    if c == 0 || c >= MAX_COUNT {
        return None;
    }
    let e = c.next_power_of_two().trailing_zeros(); // 2^(e−1) < c ≤ 2^e
    let num = 1u128 << (30 + e);
    let c = c as u128;
    let (mut q, mut shift) = (num.div_ceil(c), 1 - e as i32);
    if q == 1 << 31 {
        q >>= 1;
        shift += 1;
    }
    Some(FixedPointMultiplier { multiplier: q as i32, shift })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reciprocals_are_rounded_up_and_exact_for_powers_of_two() {
        for c in 1..5000usize {
            let m = reciprocal_up(c).unwrap();
            assert!(m.to_real() >= 1.0 / c as f64, "{c}");
            assert!(m.to_real() - 1.0 / c as f64 <= 2f64.powi(-30) / c as f64, "{c}");
            if c.is_power_of_two() {
                assert_eq!(m.to_real(), 1.0 / c as f64);
            }
        }
        assert!(reciprocal_up(0).is_none() && reciprocal_up(MAX_COUNT).is_none());
    }

    #[test]
    fn averages_round_half_away_from_zero() {
        // The requantize with the multiplier against TFLite's integer rule, every 8-bit sum.
        for c in (1..=80i64).chain([255, 256, 1000, 4097]) {
            let m = reciprocal_up(c as usize).unwrap();
            for s in -128 * c..=255 * c {
                let tflite = if s > 0 { (s + c / 2) / c } else { (s - c / 2) / c };
                assert_eq!(m.apply(s, FixedRounding::ToNearest), tflite, "sum {s} count {c}");
            }
        }
    }
}
