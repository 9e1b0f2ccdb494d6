//! The element-wise QNN ops: `qnn.quantize`, `qnn.dequantize`, `qnn.add`, `qnn.mul`,
//! `qnn.concatenate`, `qnn.clip`, `qnn.relu`. Parameters are looked up per element (per tensor
//! or along their axis); broadcast operands use their own index.

use ndarray::{ArrayD, Dimension, IxDyn};

use super::elementwise::{broadcast_shape, operand_index};
use super::requantize::Multiplier;
use super::shape_ops::concat_views;
use super::support::{attr_error, clamp, clamp_f32, floats, int_range, ints, param_at};
use crate::dtype::DType;
use crate::error::IrError;
use crate::ops::Rounding;
use crate::quant::QuantParams;
use crate::tensor::Tensor;

/// `qnn.quantize`: `clamp(round_half_even(f32(x) / scale) + f32(zp))`, every step in f32, as
/// ONNX's QuantizeLinear. NaN goes to the bottom of the range (ONNX Runtime's MLAS).
pub(super) fn quantize(
    op: &str,
    x: &Tensor,
    output: &QuantParams,
    out_dtype: DType,
) -> Result<Tensor, IrError> {
    let x = floats(op, x, 0)?;
    let range = int_range(op, out_dtype)?;
    let mut y = ArrayD::<i64>::zeros(x.raw_dim());
    for (idx, &v) in x.indexed_iter() {
        let (scale, zp) = param_at(op, "output", output, idx.slice())?;
        y[&idx] = clamp_f32((v / scale).round_ties_even() + zp as f32, range);
    }
    Tensor::from_i64(op, out_dtype, y)
}

/// `qnn.dequantize`: `f32(x − zp) · scale`; the difference is exact (i64) before the one
/// rounding to f32.
pub(super) fn dequantize(op: &str, x: &Tensor, input: &QuantParams) -> Result<Tensor, IrError> {
    let x = ints(op, x, 0)?;
    let mut y = ArrayD::<f32>::zeros(x.raw_dim());
    for (idx, &v) in x.indexed_iter() {
        let (scale, zp) = param_at(op, "input", input, idx.slice())?;
        y[&idx] = (v - i64::from(zp)) as f32 * scale;
    }
    Ok(Tensor::F32(y))
}

/// The parameters of one broadcast element of a binary QNN op.
struct Operands {
    a: i64,
    b: i64,
    qa: (f32, i32),
    qb: (f32, i32),
    qout: (f32, i32),
}

/// Calls `f` for every element of the broadcast result of `a ⊕ b`.
fn broadcast_binary(
    op: &str,
    (a, qa): (&Tensor, &QuantParams),
    (b, qb): (&Tensor, &QuantParams),
    output: &QuantParams,
    mut f: impl FnMut(Operands) -> Result<i64, IrError>,
) -> Result<ArrayD<i64>, IrError> {
    let shape = broadcast_shape(op, a.shape(), b.shape())?;
    let (xa, xb) = (ints(op, a, 0)?, ints(op, b, 1)?);
    let mut y = ArrayD::<i64>::zeros(IxDyn(&shape));
    for (idx, out) in y.indexed_iter_mut() {
        let (ia, ib) =
            (operand_index(idx.slice(), a.shape()), operand_index(idx.slice(), b.shape()));
        *out = f(Operands {
            a: xa[ia.as_slice()],
            b: xb[ib.as_slice()],
            qa: param_at(op, "lhs", qa, &ia)?,
            qb: param_at(op, "rhs", qb, &ib)?,
            qout: param_at(op, "output", output, idx.slice())?,
        })?;
    }
    Ok(y)
}

/// `qnn.add`. Fixed modes (TVM): each operand requantized to the output parameters without
/// clamping, `l = zp_out + round(s_a/s_out · (a − zp_a))` and likewise `r`, then
/// `clamp(l + r − zp_out)`. Float mode is ONNX Runtime's x86 QLinearAdd kernel (MLAS AVX2,
/// `qladd_avx2.cpp`; confirmed bit for bit against onnxruntime 1.32 on 60 × 65 536 operand
/// pairs): `r_a = f32(s_a / s_out)`, `r_b = f32(s_b / s_out)`, the zero points folded into
/// `c = f32(zp_out) − fma(r_a, zp_a, f32(r_b · zp_b))`, then
/// `clamp(rne(fma(a, r_a, fma(b, r_b, c))))` on the raw operands. It rounds after adding the
/// output zero point, so it differs from `rne(real) + zp_out` on ties.
pub(super) fn add(
    op: &str,
    lhs: (&Tensor, &QuantParams),
    rhs: (&Tensor, &QuantParams),
    output: &QuantParams,
    rounding: Rounding,
    out_dtype: DType,
) -> Result<Tensor, IrError> {
    let range = int_range(op, out_dtype)?;
    let y = broadcast_binary(op, lhs, rhs, output, |e| {
        let ((sa, za), (sb, zb), (so, zo)) = (e.qa, e.qb, e.qout);
        let ml = Multiplier::new(op, rounding, f64::from(sa) / f64::from(so), sa / so)?;
        let mr = Multiplier::new(op, rounding, f64::from(sb) / f64::from(so), sb / so)?;
        Ok(match (ml, mr) {
            (Multiplier::Fixed(ml, fixed), Multiplier::Fixed(mr, _)) => {
                let (da, db) = (e.a - i64::from(za), e.b - i64::from(zb));
                // i128: each requantized operand is below 2^63 in magnitude (fixed_point.rs),
                // their sum need not be.
                let zo = i128::from(zo);
                let l = zo + i128::from(ml.apply(da, fixed));
                let r = zo + i128::from(mr.apply(db, fixed));
                (l + r - zo).clamp(i128::from(range.0), i128::from(range.1)) as i64
            }
            (Multiplier::Float(fl), Multiplier::Float(fr)) => {
                let c = zo as f32 - fl.mul_add(za as f32, fr * zb as f32);
                let v = (e.a as f32).mul_add(fl, (e.b as f32).mul_add(fr, c));
                clamp_f32(v.round_ties_even(), range)
            }
            _ => unreachable_mix(op)?,
        })
    })?;
    Tensor::from_i64(op, out_dtype, y)
}

/// `Multiplier::new` with one rounding never mixes fixed and float; reported, not panicked.
fn unreachable_mix(op: &str) -> Result<i64, IrError> {
    Err(attr_error(op, "rounding", "mixed", "operands requantized in different modes"))
}

/// `qnn.mul`: the int32 product `p = (a − zp_a)(b − zp_b)` (leaving i32 is an accumulator
/// overflow), requantized with `M = s_a·s_b / s_out`: fixed modes `clamp(zp_out + round(M·p))`
/// with `M` in f64; float mode as ONNX Runtime's x86 QLinearMul computes it (confirmed bit for
/// bit against onnxruntime 1.32), `m = f32(f32(s_a·s_b) / s_out)` and
/// `clamp(rne(f32(f32(p) · m) + f32(zp_out)))` — the zero point is added before rounding.
pub(super) fn mul(
    op: &str,
    lhs: (&Tensor, &QuantParams),
    rhs: (&Tensor, &QuantParams),
    output: &QuantParams,
    rounding: Rounding,
    out_dtype: DType,
) -> Result<Tensor, IrError> {
    let range = int_range(op, out_dtype)?;
    let y = broadcast_binary(op, lhs, rhs, output, |e| {
        let ((sa, za), (sb, zb), (so, zo)) = (e.qa, e.qb, e.qout);
        let product = (e.a - i64::from(za)) * (e.b - i64::from(zb));
        if !DType::I32.contains(product) {
            return Err(IrError::AccumulatorOverflow { op: op.into(), value: product });
        }
        let real = f64::from(sa) * f64::from(sb) / f64::from(so);
        Ok(match Multiplier::new(op, rounding, real, (sa * sb) / so)? {
            Multiplier::Float(m) => {
                clamp_f32(((product as f32 * m) + zo as f32).round_ties_even(), range)
            }
            m => m.requantize(product, zo, range),
        })
    })?;
    Tensor::from_i64(op, out_dtype, y)
}

/// `qnn.concatenate`: each input requantized to the output parameters, or only clamped to
/// `out_dtype` where its parameters equal the output's, then concatenated along `axis`. Fixed
/// modes requantize as `qnn.requantize`; float mode as ONNX Runtime's QLinearConcat (a lookup
/// table of quantize(dequantize(x))): `clamp(rne(f32(f32(x − zp_in) · s_in) / s_out) + zp_out)`.
pub(super) fn concatenate(
    op: &str,
    inputs: &[&Tensor],
    params: &[QuantParams],
    output: &QuantParams,
    axis: usize,
    rounding: Rounding,
    out_dtype: DType,
) -> Result<Tensor, IrError> {
    if inputs.len() != params.len() {
        return Err(IrError::Arity {
            op: op.into(),
            expected: format!("{} (one per input parameter set)", params.len()),
            got: inputs.len(),
        });
    }
    let range = int_range(op, out_dtype)?;
    let mut parts = Vec::with_capacity(inputs.len());
    let mut offset = 0;
    for (i, (t, q)) in inputs.iter().zip(params).enumerate() {
        let mut a = ints(op, t, i)?;
        for (idx, v) in a.indexed_iter_mut() {
            let (s_in, zp_in) = param_at(op, "input", q, idx.slice())?;
            let mut out_idx = idx.slice().to_vec();
            if let Some(c) = out_idx.get_mut(axis) {
                *c += offset;
            }
            let (s_out, zp_out) = param_at(op, "output", output, &out_idx)?;
            *v = if (s_in, zp_in) == (s_out, zp_out) {
                clamp(*v, range)
            } else if rounding == Rounding::Float {
                let real = (*v - i64::from(zp_in)) as f32 * s_in;
                clamp_f32((real / s_out).round_ties_even() + zp_out as f32, range)
            } else {
                let m = Multiplier::new(
                    op,
                    rounding,
                    f64::from(s_in) / f64::from(s_out),
                    s_in / s_out,
                )?;
                m.requantize(*v - i64::from(zp_in), zp_out, range)
            };
        }
        offset += a.shape().get(axis).copied().unwrap_or(0);
        parts.push(a);
    }
    let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
    Tensor::from_i64(op, out_dtype, concat_views(op, &views, axis)?)
}

/// `qnn.clip` to real `[min, max]`: `x` clamped to `[zp + rne(min / scale), zp + rne(max /
/// scale)]` (the quotients in f32) intersected with the dtype.
pub(super) fn clip(
    op: &str,
    x: &Tensor,
    min: f32,
    max: f32,
    q: &QuantParams,
) -> Result<Tensor, IrError> {
    if min.is_nan() || max.is_nan() || min > max {
        return Err(attr_error(op, "min", min, &format!("needs min ≤ max = {max}, neither NaN")));
    }
    let dtype = x.dtype();
    let range = int_range(op, dtype)?;
    let mut a = ints(op, x, 0)?;
    for (idx, v) in a.indexed_iter_mut() {
        let (scale, zp) = param_at(op, "q", q, idx.slice())?;
        // f32 → i64 `as` saturates (±∞ included); then the dtype bounds apply.
        let bound = |real: f32| {
            clamp(((real / scale).round_ties_even() as i64).saturating_add(i64::from(zp)), range)
        };
        *v = clamp(*v, (bound(min), bound(max)));
    }
    Tensor::from_i64(op, dtype, a)
}

/// `qnn.relu`: `max(x, zp)`.
pub(super) fn relu(op: &str, x: &Tensor, q: &QuantParams) -> Result<Tensor, IrError> {
    let mut a = ints(op, x, 0)?;
    for (idx, v) in a.indexed_iter_mut() {
        let (_, zp) = param_at(op, "q", q, idx.slice())?;
        *v = (*v).max(i64::from(zp));
    }
    Tensor::from_i64(op, x.dtype(), a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u8s(shape: &[usize], v: Vec<u8>) -> Tensor {
        Tensor::from_vec(shape, v).unwrap()
    }

    #[test]
    fn quantize_dequantize() {
        let x =
            Tensor::from_vec(&[6], vec![0.25f32, 0.75, -0.25, 100.0, -100.0, f32::NAN]).unwrap();
        let q = QuantParams::per_tensor(0.5, 10);
        // 0.5 → 0 (half even) + 10; 1.5 → 2; −0.5 → −0; 200 → 210; −200 → 0 (clamped); NaN → 0.
        assert_eq!(
            quantize("qnn.quantize", &x, &q, DType::U8).unwrap(),
            u8s(&[6], vec![10, 12, 10, 210, 0, 0])
        );
        let i = quantize("qnn.quantize", &x, &q, DType::I8).unwrap();
        assert_eq!(i, Tensor::from_vec(&[6], vec![10i8, 12, 10, 127, -128, -128]).unwrap());
        let pc = QuantParams::per_axis(vec![1.0, 0.5], vec![0, 1], 1);
        let x2 = Tensor::from_vec(&[1, 2], vec![3.0f32, 3.0]).unwrap();
        assert_eq!(
            quantize("qnn.quantize", &x2, &pc, DType::U8).unwrap(),
            u8s(&[1, 2], vec![3, 7])
        );
        let d = dequantize("qnn.dequantize", &u8s(&[1, 2], vec![3, 7]), &pc).unwrap();
        assert_eq!(d, x2);
        let big = Tensor::from_vec(&[1], vec![i32::MAX]).unwrap();
        let d = dequantize("qnn.dequantize", &big, &QuantParams::per_tensor(1.0, -1)).unwrap();
        assert_eq!(d, Tensor::from_vec(&[1], vec![2_147_483_648.0f32]).unwrap());
    }

    #[test]
    fn add_fixed_and_float() {
        let a = u8s(&[2], vec![10, 20]);
        let b = u8s(&[1], vec![7]);
        let qa = QuantParams::per_tensor(0.5, 0);
        let qb = QuantParams::per_tensor(1.0, 2);
        let qo = QuantParams::per_tensor(1.0, 3);
        // real: 0.5·10 + 5 = 10 → 13; 0.5·20 + 5 = 15 → 18.
        for r in Rounding::ALL {
            let y = add("qnn.add", (&a, &qa), (&b, &qb), &qo, r, DType::U8).unwrap();
            assert_eq!(y, u8s(&[2], vec![13, 18]), "{r}");
        }
        // Ties: a = 5 · 0.5 = 2.5, b = 0: fixed rounds the operand (3) then adds zp 3. Float
        // (MLAS) rounds after adding the zero point: 2.5 + 3 = 5.5 → 6 (half even); with an
        // even output zero point 2.5 + 2 = 4.5 → 4.
        let a = u8s(&[1], vec![5]);
        let b = u8s(&[1], vec![2]);
        let up = add("qnn.add", (&a, &qa), (&b, &qb), &qo, Rounding::Upward, DType::U8).unwrap();
        assert_eq!(up, u8s(&[1], vec![6]));
        let fl = add("qnn.add", (&a, &qa), (&b, &qb), &qo, Rounding::Float, DType::U8).unwrap();
        assert_eq!(fl, u8s(&[1], vec![6]));
        let qo2 = QuantParams::per_tensor(1.0, 2);
        let fl = add("qnn.add", (&a, &qa), (&b, &qb), &qo2, Rounding::Float, DType::U8).unwrap();
        assert_eq!(fl, u8s(&[1], vec![4]));
        // The FMAs: with r_a = 1/3 (not exact in f32) the fused products differ from separately
        // rounded ones; checked against the formula written out.
        let q3 = QuantParams::per_tensor(1.0 / 3.0, 7);
        let qb3 = QuantParams::per_tensor(0.7, 11);
        let a = u8s(&[3], vec![0, 100, 255]);
        let b = u8s(&[3], vec![255, 13, 0]);
        let fl = add("qnn.add", (&a, &q3), (&b, &qb3), &qo2, Rounding::Float, DType::U8).unwrap();
        let (ra, rb) = ((1.0f32 / 3.0) / 1.0, 0.7f32 / 1.0);
        let c = 2.0f32 - ra.mul_add(7.0, rb * 11.0);
        let want: Vec<u8> = [(0.0f32, 255.0f32), (100.0, 13.0), (255.0, 0.0)]
            .iter()
            .map(|&(x, y)| {
                x.mul_add(ra, y.mul_add(rb, c)).round_ties_even().clamp(0.0, 255.0) as u8
            })
            .collect();
        assert_eq!(fl, u8s(&[3], want));
        let c = u8s(&[3], vec![0; 3]);
        let e = add(
            "qnn.add",
            (&u8s(&[2], vec![0; 2]), &qa),
            (&c, &qb),
            &qo,
            Rounding::Float,
            DType::U8,
        );
        assert!(matches!(e, Err(IrError::Shape { .. })));
    }

    #[test]
    fn mul_and_overflow() {
        let a = Tensor::from_vec(&[2], vec![-128i8, 127]).unwrap();
        let q = QuantParams::per_tensor(0.5, 0);
        let qo = QuantParams::per_tensor(64.0, 0);
        // (−128)² · 0.25 / 64 = 64; 127² · 0.25 / 64 = 63.00390625 → 63.
        for r in Rounding::ALL {
            let y = mul("qnn.mul", (&a, &q), (&a, &q), &qo, r, DType::I8).unwrap();
            assert_eq!(y, Tensor::from_vec(&[2], vec![64i8, 63]).unwrap(), "{r}");
        }
        // Float mode adds the zero point before rounding: with s = 0.05, 0.04 → 0.1 (m =
        // f32(0.002) / 0.1 = 0.020000001), p = −2725 gives −54.5000038 in f32, + 120 =
        // 65.4999962, a tie at f32 precision that rounds to 65.5, then to 66 (ORT's 66); rounding
        // before the zero point would give −55 + 120 = 65.
        let qa = QuantParams::per_tensor(0.05, 0);
        let qb = QuantParams::per_tensor(0.04, 0);
        let qc = QuantParams::per_tensor(0.1, 120);
        let (x, y) = (
            Tensor::from_vec(&[1], vec![-109i16]).unwrap(),
            Tensor::from_vec(&[1], vec![25i16]).unwrap(),
        );
        let z = mul("qnn.mul", (&x, &qa), (&y, &qb), &qc, Rounding::Float, DType::U8).unwrap();
        assert_eq!(z, Tensor::from_vec(&[1], vec![66u8]).unwrap());
        let big = Tensor::from_vec(&[1], vec![i16::MIN]).unwrap();
        let qz = QuantParams::per_tensor(1.0, i32::from(i16::MAX));
        let e = mul("qnn.mul", (&big, &qz), (&big, &qz), &qo, Rounding::Upward, DType::I16);
        assert!(matches!(e, Err(IrError::AccumulatorOverflow { .. })));
    }

    #[test]
    fn concatenate_requantizes_only_differing_inputs() {
        let a = u8s(&[1, 1], vec![200]);
        let b = u8s(&[1, 2], vec![10, 11]);
        let same = QuantParams::per_tensor(1.0, 0);
        let half = QuantParams::per_tensor(0.5, 0);
        // Float mode: quantize(dequantize): 11 · 0.5 = 5.5 → 6; 9 · 0.25 = 2.25 → 2.
        let quarter = QuantParams::per_tensor(0.25, 0);
        let c = u8s(&[1, 1], vec![9]);
        let y = concatenate(
            "qnn.concatenate",
            &[&b, &c],
            &[half.clone(), quarter],
            &same,
            1,
            Rounding::Float,
            DType::U8,
        )
        .unwrap();
        assert_eq!(y, u8s(&[1, 3], vec![5, 6, 2]));
        for r in Rounding::ALL {
            let y = concatenate(
                "qnn.concatenate",
                &[&a, &b],
                &[same.clone(), half.clone()],
                &same,
                1,
                r,
                DType::U8,
            )
            .unwrap();
            // 10 · 0.5 = 5; 11 · 0.5 = 5.5 → 6 (fixed) or 6 (half even: 6 is even).
            assert_eq!(y, u8s(&[1, 3], vec![200, 5, 6]), "{r}");
        }
        let e = concatenate(
            "qnn.concatenate",
            &[&a],
            &[same.clone(), half],
            &same,
            1,
            Rounding::Float,
            DType::U8,
        );
        assert!(matches!(e, Err(IrError::Arity { .. })));
    }

    #[test]
    fn clip_and_relu() {
        let x = u8s(&[5], vec![0, 50, 100, 150, 255]);
        let q = QuantParams::per_tensor(0.5, 100);
        // [−10, 20.25] → [100 − 20, 100 + rne(40.5) = 140].
        assert_eq!(
            clip("qnn.clip", &x, -10.0, 20.25, &q).unwrap(),
            u8s(&[5], vec![80, 80, 100, 140, 140])
        );
        assert_eq!(clip("qnn.clip", &x, f32::NEG_INFINITY, 1e30, &q).unwrap(), x);
        assert!(clip("qnn.clip", &x, 1.0, 0.0, &q).is_err());
        assert_eq!(relu("qnn.relu", &x, &q).unwrap(), u8s(&[5], vec![100, 100, 100, 150, 255]));
    }
}
