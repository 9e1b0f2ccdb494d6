//! `matmul` (numpy semantics, batch dimensions broadcast), `softmax` and `lookup`.

use ndarray::{ArrayD, Axis, Dimension, IxDyn};

use super::elementwise::operand_index;
use super::support::{check_i32, floats, ints, shape_error};
use crate::dtype::DType;
use crate::error::IrError;
use crate::infer::matmul_shape;
use crate::tensor::{Element, Tensor};
use crate::with_array;

/// Core `matmul`: `Y[.., m, n] = Σ_k A[.., m, k] · B[.., k, n]`, each operand indexed by the
/// broadcast batch index. Integers exactly (checked to fit i32); f32 accumulated in f32 in
/// increasing `k` from +0, every product and sum rounded (Rust never contracts to FMA).
pub(super) fn matmul(op: &str, a: &Tensor, b: &Tensor) -> Result<Tensor, IrError> {
    let shape = matmul_shape(op, a.shape(), b.shape())?;
    if let (Tensor::F32(x), Tensor::F32(w)) = (a, b) {
        return Ok(Tensor::F32(matmul_generic(x, w, &shape, 0f32, |acc, p, q| acc + p * q)));
    }
    if a.dtype() == DType::F32 || b.dtype() == DType::F32 {
        return Err(IrError::DType {
            op: op.into(),
            index: usize::from(a.dtype() != DType::F32),
            got: DType::F32,
            expected: "both operands f32, or both integers".into(),
        });
    }
    let (x, w) = (ints(op, a, 0)?, ints(op, b, 1)?);
    // |a·b| ≤ 2^30 for 16-bit operands and K < 2^31 terms: the i64 sum cannot overflow.
    let y = matmul_generic(&x, &w, &shape, 0i64, |acc, p, q| acc + p * q);
    check_i32(op, &y)?;
    Tensor::from_i64(op, DType::I32, y)
}

fn matmul_generic<T: Copy>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    out_shape: &[usize],
    zero: T,
    fma: impl Fn(T, T, T) -> T,
) -> ArrayD<T> {
    let rank = out_shape.len();
    let k_len = a.shape()[a.ndim() - 1];
    let (a_batch, b_batch) = (&a.shape()[..a.ndim() - 2], &b.shape()[..b.ndim() - 2]);
    let mut y = ArrayD::from_elem(IxDyn(out_shape), zero);
    for (idx, out) in y.indexed_iter_mut() {
        let idx = idx.slice();
        let (batch, mn) = idx.split_at(rank - 2);
        let mut ia = operand_index(batch, a_batch);
        let mut ib = operand_index(batch, b_batch);
        ia.extend([mn[0], 0]);
        ib.extend([0, mn[1]]);
        let (ka, kb) = (ia.len() - 1, ib.len() - 2);
        let mut acc = zero;
        for k in 0..k_len {
            ia[ka] = k;
            ib[kb] = k;
            acc = fma(acc, a[ia.as_slice()], b[ib.as_slice()]);
        }
        *out = acc;
    }
    y
}

/// Core `softmax` along `axis`: per lane, `exp(x − max) / Σ exp(x − max)` in f64, rounded once
/// to f32. A lane holding NaN or +∞ gives NaN (as `exp(∞ − ∞)` does).
pub(super) fn softmax(op: &str, x: &Tensor, axis: usize) -> Result<Tensor, IrError> {
    let a = floats(op, x, 0)?;
    if axis >= a.ndim() {
        return Err(shape_error(op, format!("axis {axis} is outside the rank {}", a.ndim())));
    }
    let mut y = a.clone();
    for mut lane in y.lanes_mut(Axis(axis)) {
        let max = lane.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let exps: Vec<f64> = lane.iter().map(|&v| (f64::from(v) - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        for (o, e) in lane.iter_mut().zip(exps) {
            *o = (e / sum) as f32;
        }
    }
    Ok(Tensor::F32(y))
}

/// Core `lookup`: `table[x − min(dtype(x))]`.
pub(super) fn lookup(op: &str, x: &Tensor, table: &Tensor) -> Result<Tensor, IrError> {
    let idx = ints(op, x, 0)?;
    let (lo, _) = x.dtype().int_range().unwrap_or((0, 0));
    if table.shape() != [256] || !x.dtype().is_8bit() {
        return Err(shape_error(
            op,
            format!("a {} lookup needs a [256] table, got {:?}", x.dtype(), table.shape()),
        ));
    }
    Ok(with_array!(table, t => {
        let t = t.as_slice().map(<[_]>::to_vec).unwrap_or_else(|| t.iter().copied().collect());
        Element::wrap(idx.mapv(|v| t[(v - lo) as usize]))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
        Tensor::from_vec(shape, v).unwrap()
    }

    #[test]
    fn batched_broadcast_matmul() {
        // a [2, 1, 2] × b [2, 1]: batch broadcast of b (rank 2 = no batch).
        let a = t(&[2, 1, 2], vec![1u8, 2, 3, 4]);
        let b = t(&[2, 1], vec![-1i8, 2]);
        assert_eq!(matmul("matmul", &a, &b).unwrap(), t(&[2, 1, 1], vec![3i32, 5]));
        // a [1, 2, 2] broadcast against b [2, 2, 1].
        let a = t(&[1, 2, 2], vec![1i16, 0, 0, 1]);
        let b = t(&[2, 2, 1], vec![5i16, 6, 7, 8]);
        assert_eq!(matmul("matmul", &a, &b).unwrap(), t(&[2, 2, 1], vec![5i32, 6, 7, 8]));
        let big = t(&[1, 3], vec![i16::MIN; 3]);
        let col = t(&[3, 1], vec![i16::MIN; 3]);
        assert!(matches!(matmul("matmul", &big, &col), Err(IrError::AccumulatorOverflow { .. })));
        assert!(matches!(matmul("matmul", &big, &big), Err(IrError::Shape { .. })));
        let f = t(&[1, 1], vec![1.0f32]);
        assert!(matches!(matmul("matmul", &f, &t(&[1, 1], vec![1u8])), Err(IrError::DType { .. })));
    }

    #[test]
    fn float_matmul_accumulates_in_k_order() {
        // 1e8 + 1 + 1 in f32 order loses the ones; −1e8 then cancels: 0.
        let a = t(&[1, 4], vec![1e8f32, 1.0, 1.0, -1e8]);
        let b = t(&[4, 1], vec![1.0f32; 4]);
        assert_eq!(matmul("matmul", &a, &b).unwrap(), t(&[1, 1], vec![0.0f32]));
    }

    #[test]
    fn softmax_and_lookup() {
        let x = t(&[2, 2], vec![0.0f32, 0.0, 1000.0, 1000.0]);
        assert_eq!(softmax("softmax", &x, 1).unwrap(), t(&[2, 2], vec![0.5f32; 4]));
        let y = softmax("softmax", &t(&[2], vec![0.0f32, 2f32.ln()]), 0).unwrap();
        assert_eq!(y, t(&[2], vec![1.0f32 / 3.0, 2.0 / 3.0]));
        let table = t(&[256], (0..256).map(|i| i as f32).collect());
        let y = lookup("lookup", &t(&[3], vec![-128i8, 0, 127]), &table).unwrap();
        assert_eq!(y, t(&[3], vec![0.0f32, 128.0, 255.0]));
        let y = lookup("lookup", &t(&[2], vec![0u8, 255]), &table).unwrap();
        assert_eq!(y, t(&[2], vec![0.0f32, 255.0]));
        assert!(lookup("lookup", &t(&[1], vec![0u8]), &t(&[2], vec![0u8; 2])).is_err());
    }
}
