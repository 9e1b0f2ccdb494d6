//! Core element-wise ops: `cast`, broadcasting `add`/`subtract`/`multiply`/`divide`, `round`,
//! `clip`; and the broadcasting helpers the QNN binary ops share.

use ndarray::{ArrayD, IxDyn, Zip};

use super::support::{attr_error, clamp, floats, int_range, ints, shape_error};
use crate::dtype::DType;
use crate::error::IrError;
pub(super) use crate::infer::broadcast_shapes as broadcast_shape;
use crate::tensor::Tensor;

/// `a` broadcast to `shape` (an owned copy, so callers can zip with indices).
pub(super) fn broadcast_to<T: Clone>(
    op: &str,
    a: &ArrayD<T>,
    shape: &[usize],
) -> Result<ArrayD<T>, IrError> {
    a.broadcast(IxDyn(shape)).map(|v| v.to_owned()).ok_or_else(|| {
        shape_error(op, format!("shape {:?} does not broadcast to {shape:?}", a.shape()))
    })
}

/// The index into an operand of shape `operand` of the broadcast element at `out_index`.
pub(super) fn operand_index(out_index: &[usize], operand: &[usize]) -> Vec<usize> {
    let offset = out_index.len() - operand.len();
    operand
        .iter()
        .enumerate()
        .map(|(i, &d)| if d == 1 { 0 } else { out_index[offset + i] })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Binary {
    Add,
    Subtract,
    Multiply,
    Divide,
}

/// Broadcasting binary op on equal dtypes. Integers are computed exactly in `i64` (products of
/// 32-bit values fit) and a result outside the dtype is an error, never a wrap.
pub(super) fn binary(op: &str, kind: Binary, a: &Tensor, b: &Tensor) -> Result<Tensor, IrError> {
    let shape = broadcast_shape(op, a.shape(), b.shape())?;
    if a.dtype() == DType::F32 {
        let x = broadcast_to(op, floats(op, a, 0)?, &shape)?;
        let y = broadcast_to(op, floats(op, b, 1)?, &shape)?;
        let z = Zip::from(&x).and(&y).map_collect(|&x, &y| match kind {
            Binary::Add => x + y,
            Binary::Subtract => x - y,
            Binary::Multiply => x * y,
            Binary::Divide => x / y,
        });
        return Ok(Tensor::F32(z));
    }
    if kind == Binary::Divide {
        return Err(IrError::DType {
            op: op.into(),
            index: 0,
            got: a.dtype(),
            expected: "f32".into(),
        });
    }
    if b.dtype() != a.dtype() {
        return Err(IrError::DType {
            op: op.into(),
            index: 1,
            got: b.dtype(),
            expected: a.dtype().name().into(),
        });
    }
    let x = broadcast_to(op, &ints(op, a, 0)?, &shape)?;
    let y = broadcast_to(op, &ints(op, b, 1)?, &shape)?;
    let z = Zip::from(&x).and(&y).map_collect(|&x, &y| match kind {
        Binary::Add => x + y,
        Binary::Subtract => x - y,
        _ => x * y,
    });
    Tensor::from_i64(op, a.dtype(), z)
}

/// `cast`: integer → integer saturates; f32 → integer rounds half to even, then saturates
/// (NaN → 0); integer → f32 rounds to nearest (ties to even); f32 → f32 copies.
pub(super) fn cast(op: &str, x: &Tensor, to: DType) -> Result<Tensor, IrError> {
    match (x, to) {
        (Tensor::F32(a), DType::F32) => Ok(Tensor::F32(a.clone())),
        (Tensor::F32(a), _) => {
            let range = int_range(op, to)?;
            // `as i64` saturates and maps NaN to 0.
            Tensor::from_i64(op, to, a.mapv(|v| clamp(v.round_ties_even() as i64, range)))
        }
        (_, DType::F32) => Ok(Tensor::F32(ints(op, x, 0)?.mapv(|v| v as f32))),
        _ => {
            let range = int_range(op, to)?;
            Tensor::from_i64(op, to, ints(op, x, 0)?.mapv(|v| clamp(v, range)))
        }
    }
}

/// `round`: f32 round half to even.
/// `fma`: `a · b + c` rounded once, broadcasting the three f32 operands.
pub(super) fn fma(op: &str, a: &Tensor, b: &Tensor, c: &Tensor) -> Result<Tensor, IrError> {
    let shape = broadcast_shape(op, &broadcast_shape(op, a.shape(), b.shape())?, c.shape())?;
    let x = broadcast_to(op, floats(op, a, 0)?, &shape)?;
    let y = broadcast_to(op, floats(op, b, 1)?, &shape)?;
    let z = broadcast_to(op, floats(op, c, 2)?, &shape)?;
    Ok(Tensor::F32(Zip::from(&x).and(&y).and(&z).map_collect(|&x, &y, &z| x.mul_add(y, z))))
}

pub(super) fn round(op: &str, x: &Tensor) -> Result<Tensor, IrError> {
    Ok(Tensor::F32(floats(op, x, 0)?.mapv(f32::round_ties_even)))
}

/// `clip` to `[min, max]`. Integers: clamped to the integers inside `[min, max]` (and the
/// dtype); an interval holding none is an error. f32: `x` clamped in f64 and rounded back,
/// which equals clamping to `[f32(min), f32(max)]`; NaN stays NaN.
pub(super) fn clip(op: &str, x: &Tensor, min: f64, max: f64) -> Result<Tensor, IrError> {
    if min.is_nan() || max.is_nan() || min > max {
        return Err(attr_error(op, "min", min, &format!("needs min ≤ max = {max}, neither NaN")));
    }
    if let Tensor::F32(a) = x {
        return Ok(Tensor::F32(
            a.mapv(|v| if v.is_nan() { v } else { f64::from(v).max(min).min(max) as f32 }),
        ));
    }
    let dtype = x.dtype();
    let (lo_d, hi_d) = int_range(op, dtype)?;
    // ceil/floor of the bounds, cut to the dtype (f64 → i64 `as` saturates).
    let lo = (min.ceil() as i64).max(lo_d);
    let hi = (max.floor() as i64).min(hi_d);
    if lo > hi {
        return Err(attr_error(
            op,
            "min",
            min,
            &format!("no {dtype} value lies in [{min}, {max}]"),
        ));
    }
    Tensor::from_i64(op, dtype, ints(op, x, 0)?.mapv(|v| clamp(v, (lo, hi))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i8s(shape: &[usize], v: Vec<i8>) -> Tensor {
        Tensor::from_vec(shape, v).unwrap()
    }

    #[test]
    fn broadcasting_add_and_overflow() {
        let a = i8s(&[2, 1], vec![1, 100]);
        let b = i8s(&[3], vec![1, 2, 3]);
        let y = binary("add", Binary::Add, &a, &b).unwrap();
        assert_eq!(y, i8s(&[2, 3], vec![2, 3, 4, 101, 102, 103]));
        let big = i8s(&[1], vec![28]);
        let e = binary("add", Binary::Add, &a, &big).unwrap_err();
        assert!(matches!(e, IrError::ValueOutOfRange { value: 128, dtype: DType::I8, .. }));
        let e = binary("multiply", Binary::Multiply, &i8s(&[1], vec![-128]), &i8s(&[1], vec![-1]));
        assert!(matches!(e, Err(IrError::ValueOutOfRange { value: 128, .. })));
        let s = binary("subtract", Binary::Subtract, &i8s(&[1], vec![-100]), &i8s(&[1], vec![28]));
        assert_eq!(s.unwrap(), i8s(&[1], vec![-128]));
        assert!(matches!(
            binary("add", Binary::Add, &i8s(&[2], vec![0, 0]), &i8s(&[3], vec![0, 0, 0])),
            Err(IrError::Shape { .. })
        ));
        let u = Tensor::from_vec(&[1], vec![0u8]).unwrap();
        assert!(matches!(binary("add", Binary::Add, &big, &u), Err(IrError::DType { .. })));
        assert!(matches!(binary("divide", Binary::Divide, &big, &big), Err(IrError::DType { .. })));
    }

    #[test]
    fn float_binary() {
        let a = Tensor::from_vec(&[2], vec![1.0f32, 3.0]).unwrap();
        let b = Tensor::from_vec(&[1], vec![2.0f32]).unwrap();
        let y = binary("divide", Binary::Divide, &a, &b).unwrap();
        assert_eq!(y, Tensor::from_vec(&[2], vec![0.5f32, 1.5]).unwrap());
    }

    #[test]
    fn casts() {
        let f =
            Tensor::from_vec(&[7], vec![0.5f32, 1.5, -2.5, 300.0, -1e10, f32::NAN, 2.4]).unwrap();
        let y = cast("cast", &f, DType::U8).unwrap();
        assert_eq!(y, Tensor::from_vec(&[7], vec![0u8, 2, 0, 255, 0, 0, 2]).unwrap());
        let y = cast("cast", &f, DType::I8).unwrap();
        assert_eq!(y, Tensor::from_vec(&[7], vec![0i8, 2, -2, 127, -128, 0, 2]).unwrap());
        let i = Tensor::from_vec(&[3], vec![-300i32, 5, 16_777_217]).unwrap();
        assert_eq!(cast("cast", &i, DType::I8).unwrap(), i8s(&[3], vec![-128, 5, 127]));
        let f = cast("cast", &i, DType::F32).unwrap();
        assert_eq!(f, Tensor::from_vec(&[3], vec![-300.0f32, 5.0, 16_777_216.0]).unwrap());
    }

    #[test]
    fn round_and_clip() {
        let f = Tensor::from_vec(&[4], vec![0.5f32, 1.5, -0.5, 2.6]).unwrap();
        let r = round("round", &f).unwrap();
        assert_eq!(r, Tensor::from_vec(&[4], vec![0.0f32, 2.0, -0.0, 3.0]).unwrap());
        let c = clip("clip", &f, 0.0, 2.0).unwrap();
        assert_eq!(c, Tensor::from_vec(&[4], vec![0.5f32, 1.5, 0.0, 2.0]).unwrap());
        let x = i8s(&[4], vec![-100, 0, 5, 100]);
        let c = clip("clip", &x, -1.5, 1e9).unwrap();
        assert_eq!(c, i8s(&[4], vec![-1, 0, 5, 100]));
        assert!(matches!(clip("clip", &x, 0.2, 0.8), Err(IrError::Attribute { .. })));
        assert!(matches!(clip("clip", &x, 2.0, 1.0), Err(IrError::Attribute { .. })));
        assert!(matches!(clip("clip", &x, f64::NAN, 1.0), Err(IrError::Attribute { .. })));
    }
}
