//! Data movement and reductions: `reshape`, `transpose`, `concatenate`, `pad`, `sum`.

use ndarray::{ArrayD, ArrayViewD, Axis, Dimension, IxDyn, Slice};

use super::support::{attr_error, check_i32, ints, shape_error};
use crate::dtype::DType;
use crate::error::IrError;
use crate::tensor::{Element, Tensor};
use crate::with_array;

/// `reshape`: the same elements in row-major order under a new shape.
pub(super) fn reshape(op: &str, x: &Tensor, shape: &[usize]) -> Result<Tensor, IrError> {
    with_array!(x, a => {
        let b = a.as_standard_layout().into_owned().into_shape_with_order(IxDyn(shape));
        b.map(Element::wrap).map_err(|_| {
            shape_error(op, format!("cannot reshape {:?} to {shape:?}", a.shape()))
        })
    })
}

/// `transpose`: output axis `i` is input axis `perm[i]`.
pub(super) fn transpose(op: &str, x: &Tensor, perm: &[usize]) -> Result<Tensor, IrError> {
    let rank = x.shape().len();
    let mut seen = vec![false; rank];
    for &p in perm {
        if p >= rank || std::mem::replace(&mut seen[p], true) {
            return Err(attr_error(
                op,
                "perm",
                format!("{perm:?}"),
                "not a permutation of the axes",
            ));
        }
    }
    if perm.len() != rank {
        return Err(attr_error(op, "perm", format!("{perm:?}"), "not a permutation of the axes"));
    }
    Ok(with_array!(x, a => {
        Element::wrap(a.view().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned())
    }))
}

/// `concatenate` along `axis` (all inputs of one dtype).
pub(super) fn concatenate(op: &str, inputs: &[&Tensor], axis: usize) -> Result<Tensor, IrError> {
    let Some(first) = inputs.first() else {
        return Err(IrError::Arity { op: op.into(), expected: "at least 1".into(), got: 0 });
    };
    match first.dtype() {
        DType::U8 => concat_typed::<u8>(op, inputs, axis),
        DType::I8 => concat_typed::<i8>(op, inputs, axis),
        DType::I16 => concat_typed::<i16>(op, inputs, axis),
        DType::I32 => concat_typed::<i32>(op, inputs, axis),
        DType::F32 => concat_typed::<f32>(op, inputs, axis),
    }
}

fn concat_typed<T: Element>(op: &str, inputs: &[&Tensor], axis: usize) -> Result<Tensor, IrError> {
    let views = inputs
        .iter()
        .enumerate()
        .map(|(index, t)| {
            T::view(t).map(|a| a.view()).ok_or_else(|| IrError::DType {
                op: op.into(),
                index,
                got: t.dtype(),
                expected: T::DTYPE.name().into(),
            })
        })
        .collect::<Result<Vec<ArrayViewD<'_, T>>, _>>()?;
    concat_views(op, &views, axis).map(T::wrap)
}

/// `ndarray::concatenate` with an error naming the op.
pub(super) fn concat_views<T: Clone>(
    op: &str,
    views: &[ArrayViewD<'_, T>],
    axis: usize,
) -> Result<ArrayD<T>, IrError> {
    if views.iter().any(|v| axis >= v.ndim()) {
        return Err(attr_error(op, "axis", axis, "outside the rank of an input"));
    }
    ndarray::concatenate(Axis(axis), views).map_err(|_| {
        let shapes: Vec<_> = views.iter().map(|v| v.shape().to_vec()).collect();
        shape_error(op, format!("shapes {shapes:?} do not concatenate along axis {axis}"))
    })
}

/// `pad`: `pads[axis] = [before, after]` cells of `value` around the input. For an integer
/// dtype `value` must be an integer of that dtype.
pub(super) fn pad(
    op: &str,
    x: &Tensor,
    pads: &[[usize; 2]],
    value: f64,
) -> Result<Tensor, IrError> {
    if pads.len() != x.shape().len() {
        return Err(attr_error(
            op,
            "pads",
            format!("{pads:?}"),
            "needs one [before, after] per axis",
        ));
    }
    if let Tensor::F32(a) = x {
        return Ok(Tensor::F32(pad_typed(a, pads, value as f32)));
    }
    let dtype = x.dtype();
    if value.fract() != 0.0 || !dtype.contains(value as i64) {
        return Err(attr_error(op, "value", value, &format!("not a value of {dtype}")));
    }
    let a = ints(op, x, 0)?;
    Tensor::from_i64(op, dtype, pad_typed(&a, pads, value as i64))
}

fn pad_typed<T: Clone>(a: &ArrayD<T>, pads: &[[usize; 2]], value: T) -> ArrayD<T> {
    let shape: Vec<usize> = a.shape().iter().zip(pads).map(|(&d, [b, e])| b + d + e).collect();
    let mut out = ArrayD::from_elem(IxDyn(&shape), value);
    out.slice_each_axis_mut(|ax| {
        let before = pads[ax.axis.index()][0];
        Slice::from(before..before + a.shape()[ax.axis.index()])
    })
    .assign(a);
    out
}

/// `sum` over `axes`: integers exactly into `i32` (a result outside it is an accumulator
/// overflow); f32 accumulated in `f32` in row-major order of the input, starting from +0.
pub(super) fn sum(op: &str, x: &Tensor, axes: &[usize], keepdims: bool) -> Result<Tensor, IrError> {
    let shape = x.shape().to_vec();
    let mut reduced = vec![false; shape.len()];
    for &a in axes {
        if a >= shape.len() || std::mem::replace(&mut reduced[a], true) {
            return Err(attr_error(
                op,
                "axes",
                format!("{axes:?}"),
                "axes must be distinct and inside the rank",
            ));
        }
    }
    let out_shape: Vec<usize> = (0..shape.len())
        .filter(|&i| keepdims || !reduced[i])
        .map(|i| if reduced[i] { 1 } else { shape[i] })
        .collect();
    let out_index = |idx: &[usize]| -> Vec<usize> {
        (0..idx.len())
            .filter(|&i| keepdims || !reduced[i])
            .map(|i| if reduced[i] { 0 } else { idx[i] })
            .collect()
    };
    if let Tensor::F32(a) = x {
        let mut y = ArrayD::<f32>::zeros(IxDyn(&out_shape));
        for (idx, &v) in a.indexed_iter() {
            y[out_index(idx.slice()).as_slice()] += v;
        }
        return Ok(Tensor::F32(y));
    }
    let mut y = ArrayD::<i64>::zeros(IxDyn(&out_shape));
    for (idx, &v) in ints(op, x, 0)?.indexed_iter() {
        y[out_index(idx.slice()).as_slice()] += v;
    }
    check_i32(op, &y)?;
    Tensor::from_i64(op, DType::I32, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
        Tensor::from_vec(shape, v).unwrap()
    }

    #[test]
    fn reshape_transpose() {
        let x = t(&[2, 3], vec![0u8, 1, 2, 3, 4, 5]);
        assert_eq!(reshape("reshape", &x, &[3, 2]).unwrap(), t(&[3, 2], vec![0u8, 1, 2, 3, 4, 5]));
        assert!(matches!(reshape("reshape", &x, &[4]), Err(IrError::Shape { .. })));
        let y = transpose("transpose", &x, &[1, 0]).unwrap();
        assert_eq!(y, t(&[3, 2], vec![0u8, 3, 1, 4, 2, 5]));
        assert!(transpose("transpose", &x, &[0, 0]).is_err());
        assert!(transpose("transpose", &x, &[0]).is_err());
    }

    #[test]
    fn concatenate_axis1() {
        let a = t(&[2, 1], vec![1i16, 2]);
        let b = t(&[2, 2], vec![3i16, 4, 5, 6]);
        let y = concatenate("concatenate", &[&a, &b], 1).unwrap();
        assert_eq!(y, t(&[2, 3], vec![1i16, 3, 4, 2, 5, 6]));
        assert!(matches!(concatenate("concatenate", &[&a, &b], 0), Err(IrError::Shape { .. })));
        let c = t(&[2, 1], vec![1i8, 2]);
        assert!(matches!(
            concatenate("concatenate", &[&a, &c], 1),
            Err(IrError::DType { index: 1, .. })
        ));
    }

    #[test]
    fn pad_values() {
        let x = t(&[1, 2], vec![1i8, 2]);
        let y = pad("pad", &x, &[[1, 0], [0, 2]], -3.0).unwrap();
        assert_eq!(y, t(&[2, 4], vec![-3i8, -3, -3, -3, 1, 2, -3, -3]));
        assert!(matches!(pad("pad", &x, &[[0, 0], [0, 0]], 0.5), Err(IrError::Attribute { .. })));
        assert!(matches!(pad("pad", &x, &[[0, 0], [0, 0]], 128.0), Err(IrError::Attribute { .. })));
        assert!(matches!(pad("pad", &x, &[[0, 0]], 0.0), Err(IrError::Attribute { .. })));
        let f = t(&[1], vec![1.5f32]);
        assert_eq!(pad("pad", &f, &[[1, 1]], 0.25).unwrap(), t(&[3], vec![0.25f32, 1.5, 0.25]));
    }

    #[test]
    fn sums() {
        let x = t(&[2, 3], vec![1u8, 2, 3, 4, 5, 6]);
        assert_eq!(sum("sum", &x, &[1], false).unwrap(), t(&[2], vec![6i32, 15]));
        assert_eq!(sum("sum", &x, &[0], true).unwrap(), t(&[1, 3], vec![5i32, 7, 9]));
        assert_eq!(sum("sum", &x, &[0, 1], false).unwrap(), t::<i32>(&[], vec![21]));
        assert_eq!(sum("sum", &x, &[], false).unwrap(), t(&[2, 3], vec![1i32, 2, 3, 4, 5, 6]));
        let big = t(&[2], vec![i32::MAX, 1]);
        assert!(matches!(sum("sum", &big, &[0], false), Err(IrError::AccumulatorOverflow { .. })));
        assert!(sum("sum", &x, &[1, 1], false).is_err());
        // f32 order: 1e8 + 1 + 1 … in f32 loses the ones.
        let f = t(&[3], vec![1e8f32, 1.0, 1.0]);
        assert_eq!(sum("sum", &f, &[0], false).unwrap(), t::<f32>(&[], vec![1e8]));
    }
}
