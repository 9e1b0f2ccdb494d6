//! Lookup tables of 8-bit activations, computed as ONNX Runtime computes them: every input
//! value dequantized (`f32(x_scale · f32(x − x_zp))`), mapped by the activation in f32, and
//! quantized with MLAS's QuantizeLinear (`clamp(rne(v / y_scale) + y_zp)`).

use qnn_ir::{DType, QuantParams};

/// An activation of a QLinear lookup op.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Activation {
    /// `v ≥ 0 ? v : f32(alpha · v)` (QLinearLeakyRelu).
    LeakyRelu(f32),
    /// MLAS's logistic (QLinearSigmoid).
    Sigmoid,
}

/// MLAS's logistic kernel (`MlasComputeLogistic`, the FMA3 kernel on x86): Eigen's rational
/// approximation `x·p(x²) / q(x²) + 0.5` on `x` clamped to ±18, the polynomials evaluated
/// with fused multiply-adds, the result clamped below at 0.
#[allow(clippy::excessive_precision)] // MLAS's literals, to the digit.
pub(crate) fn mlas_logistic(x: f32) -> f32 {
    const ALPHA: [f32; 5] = [
        4.37031012579801e-11,
        1.15627324459942e-07,
        6.08574864600143e-05,
        8.51377133304701e-03,
        2.48287947061529e-01,
    ];
    const BETA: [f32; 6] = [
        6.10247389755681e-13,
        5.76102136993427e-09,
        6.29106785017040e-06,
        1.70198817374094e-03,
        1.16817656904453e-01,
        9.93151921023180e-01,
    ];
    let x = x.clamp(-18.0, 18.0);
    let x2 = x * x;
    let p = ALPHA[1..].iter().fold(ALPHA[0], |p, &a| x2.mul_add(p, a));
    let q = BETA[1..].iter().fold(BETA[0], |q, &b| x2.mul_add(q, b));
    ((x * p) / q + 0.5).max(0.0)
}

/// The table for inputs of `dtype`: entry `i` is the output for input value `min(dtype) + i`.
pub(crate) fn table(dtype: DType, x: &QuantParams, y: &QuantParams, f: Activation) -> Vec<i64> {
    let (lo, _) = dtype.int_range().unwrap_or((0, 255));
    let (qmin, qmax) = dtype.int_range().unwrap_or((0, 255));
    let (xs, xz, ys, yz) = (x.scale[0], x.zero_point[0], y.scale[0], y.zero_point[0]);
    (0..256)
        .map(|i| {
            let v = xs * (lo + i - i64::from(xz)) as f32;
            let a = match f {
                Activation::LeakyRelu(alpha) => {
                    if v >= 0.0 {
                        v
                    } else {
                        alpha * v
                    }
                }
                Activation::Sigmoid => mlas_logistic(v),
            };
            // MLAS clamps to [qmin − zp, qmax − zp] before rounding (NaN → the minimum).
            let q = (a / ys).max((qmin - i64::from(yz)) as f32).min((qmax - i64::from(yz)) as f32);
            q.round_ties_even() as i64 + i64::from(yz)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_shape() {
        assert_eq!(mlas_logistic(0.0), 0.5);
        assert!((mlas_logistic(2.0) - 0.880_797).abs() < 1e-6);
        assert!((mlas_logistic(-2.0) - 0.119_203).abs() < 1e-6);
        assert!(mlas_logistic(-100.0) >= 0.0 && mlas_logistic(-100.0) < 1e-7);
        assert!((mlas_logistic(100.0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn leaky_relu_table() {
        let q = QuantParams::per_tensor(0.5, 128);
        let t = table(DType::U8, &q, &q, Activation::LeakyRelu(0.25));
        // x = 0 → v = −64 → −16 → −32 + 128 = 96; x = 200 → 36 → 72 + 128 = 200.
        assert_eq!((t[0], t[128], t[200]), (96, 128, 200));
    }
}
