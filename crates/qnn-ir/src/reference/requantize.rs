//! Requantization (ARCHITECTURE.md §4): the core `requantize`, `qnn.requantize`, and the
//! per-value step every requantizing QNN op shares.

use ndarray::{ArrayD, Dimension, IxDyn};

use super::support::{attr_error, clamp, clamp_f32, int_range, ints, param_at};
use crate::dtype::DType;
use crate::error::IrError;
use crate::ops::{FixedPointMultiplier, FixedRounding, RequantScale, Rounding};
use crate::quant::QuantParams;
use crate::tensor::Tensor;

/// The multiplier of one requantization.
#[derive(Debug, Clone, Copy)]
pub(super) enum Multiplier {
    /// `round(M · x)` in one of the fixed-point roundings.
    Fixed(FixedPointMultiplier, FixedRounding),
    /// ONNX Runtime: `round_half_even(f32(x) · mult)` in `f32`.
    Float(f32),
}

impl Multiplier {
    /// The multiplier for `rounding`: in the fixed modes `real` (the real ratio, computed in
    /// `f64`) through [`FixedPointMultiplier::from_real`]; in float mode `float`, the `f32`
    /// multiplier as ONNX Runtime computes it (each op says how).
    pub(super) fn new(
        op: &str,
        rounding: Rounding,
        real: f64,
        float: f32,
    ) -> Result<Self, IrError> {
        match rounding.fixed() {
            Some(fixed) => {
                Ok(Multiplier::Fixed(FixedPointMultiplier::from_real_in(op, real)?, fixed))
            }
            None => Multiplier::float(op, float),
        }
    }

    fn float(op: &str, mult: f32) -> Result<Self, IrError> {
        // An infinite multiplier (s_in / s_out overflowing f32) would turn 0 into NaN.
        if mult.is_finite() {
            Ok(Multiplier::Float(mult))
        } else {
            Err(attr_error(op, "multiplier", mult, "the f32 multiplier must be finite"))
        }
    }

    /// `zp_out + round(M · x)` clamped to `range`, `x` already relative to the input zero
    /// point. Float mode: `clamp(round_half_even(f32(x) · mult) + f32(zp_out))`, every step
    /// in `f32` (no FMA: Rust never contracts).
    pub(super) fn requantize(self, x: i64, zp_out: i32, range: (i64, i64)) -> i64 {
        match self {
            Multiplier::Fixed(m, rounding) => {
                clamp(i64::from(zp_out).saturating_add(m.apply(x, rounding)), range)
            }
            Multiplier::Float(mult) => {
                let v = (x as f32 * mult).round_ties_even() + zp_out as f32;
                clamp_f32(v, range)
            }
        }
    }
}

/// `qnn.requantize`: per element, `M = s_in / s_out` (f64 for the fixed modes, f32 division for
/// float mode), `y = clamp(zp_out + round(M · (x − zp_in)))`.
pub(super) fn qnn_requantize(
    op: &str,
    x: &Tensor,
    input: &QuantParams,
    output: &QuantParams,
    rounding: Rounding,
    out_dtype: DType,
) -> Result<Tensor, IrError> {
    let x = ints(op, x, 0)?;
    let range = int_range(op, out_dtype)?;
    let mut y = ArrayD::<i64>::zeros(x.raw_dim());
    for (idx, &v) in x.indexed_iter() {
        let (s_in, zp_in) = param_at(op, "input", input, idx.slice())?;
        let (s_out, zp_out) = param_at(op, "output", output, idx.slice())?;
        let m = Multiplier::new(op, rounding, f64::from(s_in) / f64::from(s_out), s_in / s_out)?;
        y[&idx] = m.requantize(v - i64::from(zp_in), zp_out, range);
    }
    Tensor::from_i64(op, out_dtype, y)
}

/// Core `requantize`: the multiplier of an element is `scale[k]`, `k` its row-major index
/// over the dimensions `axes` (or the single multiplier).
pub(super) fn requantize(
    op: &str,
    x: &Tensor,
    scale: &RequantScale,
    axes: &[usize],
    input_zero_point: i32,
    output_zero_point: i32,
    out_dtype: DType,
) -> Result<Tensor, IrError> {
    let x = ints(op, x, 0)?;
    let range = int_range(op, out_dtype)?;
    let shape = x.shape().to_vec();
    let mut y = ArrayD::<i64>::zeros(IxDyn(&shape));
    for (idx, &v) in x.indexed_iter() {
        let k = if scale.len() == 1 { 0 } else { row_major_index(op, idx.slice(), &shape, axes)? };
        let m = match scale {
            RequantScale::Fixed { mults, rounding } => Multiplier::Fixed(
                *mults.get(k).ok_or_else(|| multiplier_count(op, scale.len(), k))?,
                *rounding,
            ),
            RequantScale::Float { mults } => Multiplier::float(
                op,
                *mults.get(k).ok_or_else(|| multiplier_count(op, mults.len(), k))?,
            )?,
        };
        y[&idx] = m.requantize(v - i64::from(input_zero_point), output_zero_point, range);
    }
    Tensor::from_i64(op, out_dtype, y)
}

/// Row-major index of `idx` restricted to `axes`.
fn row_major_index(
    op: &str,
    idx: &[usize],
    shape: &[usize],
    axes: &[usize],
) -> Result<usize, IrError> {
    let mut k = 0;
    for &a in axes {
        if a >= shape.len() {
            return Err(attr_error(op, "axes", format!("{axes:?}"), "axis outside the rank"));
        }
        k = k * shape[a] + idx[a];
    }
    Ok(k)
}

fn multiplier_count(op: &str, len: usize, k: usize) -> IrError {
    attr_error(op, "scale", format!("{len} multipliers"), &format!("no multiplier for index {k}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(m: f64, r: FixedRounding) -> Multiplier {
        Multiplier::Fixed(FixedPointMultiplier::from_real(m).unwrap(), r)
    }

    #[test]
    fn per_value_step() {
        let u8r = (0, 255);
        // 0.5 · 3 = 1.5: upward → 2, tonearest → 2, float (half to even) → 2; 0.5 · 5 = 2.5.
        assert_eq!(fixed(0.5, FixedRounding::Upward).requantize(5, 10, u8r), 13);
        assert_eq!(fixed(0.5, FixedRounding::Upward).requantize(-5, 10, u8r), 8);
        assert_eq!(fixed(0.5, FixedRounding::ToNearest).requantize(-5, 10, u8r), 7);
        assert_eq!(Multiplier::Float(0.5).requantize(5, 10, u8r), 12);
        assert_eq!(Multiplier::Float(0.5).requantize(-5, 10, u8r), 8);
        // Saturation at both ends of the output type.
        assert_eq!(fixed(2.0, FixedRounding::Upward).requantize(200, 0, u8r), 255);
        assert_eq!(Multiplier::Float(2.0).requantize(-200, 0, (-128, 127)), -128);
        // i32 output: f32 cannot hold i32::MAX; the bound still comes out right.
        let i32r = (i64::from(i32::MIN), i64::from(i32::MAX));
        assert_eq!(
            Multiplier::Float(1.0).requantize(i64::from(i32::MAX), 0, i32r),
            i64::from(i32::MAX)
        );
    }

    #[test]
    fn float_multiplier_must_be_finite() {
        let e =
            Multiplier::new("qnn.requantize", Rounding::Float, 1e300, f32::INFINITY).unwrap_err();
        assert!(e.to_string().contains("qnn.requantize"), "{e}");
        let e = Multiplier::new("qnn.requantize", Rounding::Upward, 1e300, 1.0).unwrap_err();
        assert!(matches!(e, IrError::Attribute { ref op, .. } if op == "qnn.requantize"));
    }

    #[test]
    fn core_requantize_per_channel_over_two_axes() {
        // [2, 2, 1] with one multiplier per (axis 0, axis 1) pair: row-major 0.5, 1, 2, 0.25.
        let x = Tensor::from_vec(&[2, 2, 1], vec![10i32, 10, 10, 10]).unwrap();
        let mults = [0.5, 1.0, 2.0, 0.25].map(|m| FixedPointMultiplier::from_real(m).unwrap());
        let scale = RequantScale::Fixed { mults: mults.to_vec(), rounding: FixedRounding::Upward };
        let y = requantize("requantize", &x, &scale, &[0, 1], 2, -1, DType::I8).unwrap();
        // (10 − 2) · M − 1
        assert_eq!(y, Tensor::from_vec(&[2, 2, 1], vec![3i8, 7, 15, 1]).unwrap());
        let float = RequantScale::Float { mults: vec![0.5, 1.0, 2.0, 0.25] };
        let y = requantize("requantize", &x, &float, &[0, 1], 2, -1, DType::I8).unwrap();
        assert_eq!(y, Tensor::from_vec(&[2, 2, 1], vec![3i8, 7, 15, 1]).unwrap());
        let bad = RequantScale::Float { mults: vec![f32::NAN] };
        assert!(requantize("requantize", &x, &bad, &[], 0, 0, DType::I8).is_err());
    }

    #[test]
    fn qnn_requantize_per_channel() {
        // i32 [1, 2] with input scales per channel (axis 1), output per tensor.
        let x = Tensor::from_vec(&[1, 2], vec![7i32, 7]).unwrap();
        let input = QuantParams::per_axis(vec![0.5, 0.25], vec![1], 1);
        let output = QuantParams::per_tensor(1.0, 100);
        for rounding in Rounding::ALL {
            let y =
                qnn_requantize("qnn.requantize", &x, &input, &output, rounding, DType::U8).unwrap();
            // 6 · 0.5 = 3; 6 · 0.25 = 1.5 → 2 in every mode (half-even also gives 2).
            assert_eq!(y, Tensor::from_vec(&[1, 2], vec![103u8, 102]).unwrap(), "{rounding}");
        }
    }
}
