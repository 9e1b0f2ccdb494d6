//! `dense` and `qnn.dense`: `Y[.., n] = Σ_k X[.., k] · W[n, k]`, exact, checked to fit `i32`.

use ndarray::{Array2, ArrayD, Ix2, IxDyn};

use super::conv::minus_zero_points;
use super::support::{check_i32, ints, shape_error};
use crate::dtype::DType;
use crate::error::IrError;
use crate::quant::QuantParams;
use crate::tensor::Tensor;

/// Core `dense`.
pub(super) fn dense(op: &str, data: &Tensor, weight: &Tensor) -> Result<Tensor, IrError> {
    dense_i64(op, ints(op, data, 0)?, ints(op, weight, 1)?)
}

/// `qnn.dense` by its defining formula: `Y[.., n] = Σ_k (X[.., k] − a) · (W[n, k] − w_n)`.
pub(super) fn qnn_dense(
    op: &str,
    data: &Tensor,
    weight: &Tensor,
    input: &QuantParams,
    kernel: &QuantParams,
) -> Result<Tensor, IrError> {
    let x = minus_zero_points(op, "input", ints(op, data, 0)?, input)?;
    let w = minus_zero_points(op, "kernel", ints(op, weight, 1)?, kernel)?;
    dense_i64(op, x, w)
}

fn dense_i64(op: &str, x: ArrayD<i64>, w: ArrayD<i64>) -> Result<Tensor, IrError> {
    let x_shape = x.shape().to_vec();
    let w_shape = w.shape().to_vec();
    let w: Array2<i64> = w
        .into_dimensionality::<Ix2>()
        .map_err(|_| shape_error(op, format!("weight must be [N, K], got {w_shape:?}")))?;
    let (n, k) = w.dim();
    let Some((&k_x, lead)) = x_shape.split_last() else {
        return Err(shape_error(op, "data must have rank ≥ 1"));
    };
    if k_x != k {
        return Err(shape_error(
            op,
            format!("data {x_shape:?} and weight {w_shape:?} disagree on K"),
        ));
    }
    let m: usize = lead.iter().product();
    let x = x
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((m, k))
        .map_err(|e| shape_error(op, e.to_string()))?;
    let mut y = Array2::<i64>::zeros((m, n));
    for i in 0..m {
        for j in 0..n {
            y[[i, j]] = (0..k).map(|kk| x[[i, kk]] * w[[j, kk]]).sum();
        }
    }
    let mut out_shape = lead.to_vec();
    out_shape.push(n);
    let y =
        y.into_shape_with_order(IxDyn(&out_shape)).map_err(|e| shape_error(op, e.to_string()))?;
    check_i32(op, &y)?;
    Tensor::from_i64(op, DType::I32, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_by_hand() {
        let x = Tensor::from_vec(&[2, 1, 3], vec![1u8, 2, 3, 4, 5, 6]).unwrap();
        let w = Tensor::from_vec(&[2, 3], vec![1i8, 0, -1, 2, 2, 2]).unwrap();
        let y = dense("dense", &x, &w).unwrap();
        assert_eq!(y, Tensor::from_vec(&[2, 1, 2], vec![-2i32, 12, -2, 30]).unwrap());
    }

    #[test]
    fn qnn_dense_per_channel_zero_points() {
        let x = Tensor::from_vec(&[1, 2], vec![255u8, 0]).unwrap();
        let w = Tensor::from_vec(&[2, 2], vec![127i8, -128, -128, 127]).unwrap();
        let input = QuantParams::per_tensor(1.0, 128);
        let kernel = QuantParams::per_axis(vec![1.0, 1.0], vec![-128, 127], 0);
        let y = qnn_dense("qnn.dense", &x, &w, &input, &kernel).unwrap();
        // n0: 127·255 + (−128)·0 = 32385; n1: 127·(−255) + (−128)·0 = −32385.
        assert_eq!(y, Tensor::from_vec(&[1, 2], vec![32385i32, -32385]).unwrap());
    }

    #[test]
    fn dense_errors() {
        let x = Tensor::from_vec(&[1, 2], vec![i16::MAX, i16::MAX]).unwrap();
        let w = Tensor::from_vec(&[1, 2], vec![i16::MAX, i16::MAX]).unwrap();
        // 2 · 32767² = 2 147 352 578 still fits i32.
        assert_eq!(
            dense("dense", &x, &w).unwrap(),
            Tensor::from_vec(&[1, 1], vec![2_147_352_578i32]).unwrap()
        );
        let x3 = Tensor::from_vec(&[1, 3], vec![i16::MIN; 3]).unwrap();
        let w3 = Tensor::from_vec(&[1, 3], vec![i16::MIN; 3]).unwrap();
        let e = dense("dense", &x3, &w3).unwrap_err();
        assert!(matches!(e, IrError::AccumulatorOverflow { value, .. } if value == 3 << 30));
        let w_bad = Tensor::from_vec(&[1, 2], vec![0i8; 2]).unwrap();
        assert!(matches!(dense("dense", &x3, &w_bad), Err(IrError::Shape { .. })));
    }
}
