//! Typed tensors on `ndarray`.

use ndarray::{ArrayD, IxDyn};

use crate::dtype::DType;
use crate::error::IrError;

/// The static type of a value: element type and shape (all dimensions known).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl TensorType {
    pub fn new(dtype: DType, shape: impl Into<Vec<usize>>) -> Self {
        TensorType { dtype, shape: shape.into() }
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements; `None` when the product overflows `usize`.
    pub fn checked_len(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
    }

    /// Size in bytes; `None` on overflow.
    pub fn checked_bytes(&self) -> Option<usize> {
        self.checked_len()?.checked_mul(self.dtype.size_bytes())
    }
}

impl std::fmt::Display for TensorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[", self.dtype)?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// A tensor of one of the supported element types.
#[derive(Debug, Clone, PartialEq)]
pub enum Tensor {
    U8(ArrayD<u8>),
    I8(ArrayD<i8>),
    I16(ArrayD<i16>),
    I32(ArrayD<i32>),
    F32(ArrayD<f32>),
}

/// Rust element types that map to a [`DType`].
pub trait Element: Copy + Default + PartialEq + std::fmt::Debug + Send + Sync + 'static {
    const DTYPE: DType;
    fn wrap(a: ArrayD<Self>) -> Tensor;
    fn view(t: &Tensor) -> Option<&ArrayD<Self>>;
}

macro_rules! element {
    ($t:ty, $v:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$v;
            fn wrap(a: ArrayD<Self>) -> Tensor {
                Tensor::$v(a)
            }
            fn view(t: &Tensor) -> Option<&ArrayD<Self>> {
                match t {
                    Tensor::$v(a) => Some(a),
                    _ => None,
                }
            }
        }
    };
}
element!(u8, U8);
element!(i8, I8);
element!(i16, I16);
element!(i32, I32);
element!(f32, F32);

/// Applies `$body` to the inner array of a tensor, whatever its element type.
#[macro_export]
macro_rules! with_array {
    ($tensor:expr, $a:ident => $body:expr) => {
        match $tensor {
            $crate::Tensor::U8($a) => $body,
            $crate::Tensor::I8($a) => $body,
            $crate::Tensor::I16($a) => $body,
            $crate::Tensor::I32($a) => $body,
            $crate::Tensor::F32($a) => $body,
        }
    };
}

impl Tensor {
    pub fn dtype(&self) -> DType {
        match self {
            Tensor::U8(_) => DType::U8,
            Tensor::I8(_) => DType::I8,
            Tensor::I16(_) => DType::I16,
            Tensor::I32(_) => DType::I32,
            Tensor::F32(_) => DType::F32,
        }
    }

    pub fn shape(&self) -> &[usize] {
        with_array!(self, a => a.shape())
    }

    pub fn ty(&self) -> TensorType {
        TensorType::new(self.dtype(), self.shape())
    }

    pub fn len(&self) -> usize {
        with_array!(self, a => a.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A tensor from a flat vector in row-major order.
    pub fn from_vec<T: Element>(shape: &[usize], data: Vec<T>) -> Result<Tensor, IrError> {
        let n = data.len();
        ArrayD::from_shape_vec(IxDyn(shape), data).map(T::wrap).map_err(|_| IrError::Shape {
            op: "tensor".into(),
            msg: format!("{n} values do not fill shape {shape:?}"),
        })
    }

    /// A tensor of zeros.
    pub fn zeros(ty: &TensorType) -> Tensor {
        let s = IxDyn(&ty.shape);
        match ty.dtype {
            DType::U8 => Tensor::U8(ArrayD::zeros(s)),
            DType::I8 => Tensor::I8(ArrayD::zeros(s)),
            DType::I16 => Tensor::I16(ArrayD::zeros(s)),
            DType::I32 => Tensor::I32(ArrayD::zeros(s)),
            DType::F32 => Tensor::F32(ArrayD::zeros(s)),
        }
    }

    /// Borrow the array when the element type is `T`.
    pub fn as_array<T: Element>(&self) -> Option<&ArrayD<T>> {
        T::view(self)
    }

    /// Integer elements widened to `i64` (the reference interpreter computes in `i64`);
    /// `None` for `f32`.
    pub fn to_i64(&self) -> Option<ArrayD<i64>> {
        Some(match self {
            Tensor::U8(a) => a.mapv(i64::from),
            Tensor::I8(a) => a.mapv(i64::from),
            Tensor::I16(a) => a.mapv(i64::from),
            Tensor::I32(a) => a.mapv(i64::from),
            Tensor::F32(_) => return None,
        })
    }

    /// Narrow `i64` values into an integer `dtype`. Every value must fit: a value that does not
    /// is reported (with `op`) instead of being wrapped or saturated.
    pub fn from_i64(op: &str, dtype: DType, a: ArrayD<i64>) -> Result<Tensor, IrError> {
        if let Some(&bad) = a.iter().find(|&&v| !dtype.contains(v)) {
            return Err(IrError::ValueOutOfRange { op: op.into(), value: bad, dtype });
        }
        Ok(match dtype {
            DType::U8 => Tensor::U8(a.mapv(|v| v as u8)),
            DType::I8 => Tensor::I8(a.mapv(|v| v as i8)),
            DType::I16 => Tensor::I16(a.mapv(|v| v as i16)),
            DType::I32 => Tensor::I32(a.mapv(|v| v as i32)),
            DType::F32 => {
                return Err(IrError::DType {
                    op: op.into(),
                    index: 0,
                    got: DType::F32,
                    expected: "an integer type".into(),
                });
            }
        })
    }

    /// Elements as `f64` in row-major order (exact for every supported type).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        with_array!(self, a => a.iter().map(|&v| v as f64).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_is_checked() {
        let a = ArrayD::from_shape_vec(IxDyn(&[2]), vec![1i64, 256]).unwrap();
        let e = Tensor::from_i64("cast", DType::U8, a).unwrap_err();
        assert!(matches!(e, IrError::ValueOutOfRange { value: 256, dtype: DType::U8, .. }));
    }

    #[test]
    fn types_and_shapes() {
        let t = Tensor::from_vec(&[2, 3], vec![0i8; 6]).unwrap();
        assert_eq!(t.ty(), TensorType::new(DType::I8, [2, 3]));
        assert_eq!(t.ty().to_string(), "i8[2,3]");
        assert!(Tensor::from_vec(&[2, 3], vec![0u8; 5]).is_err());
        assert_eq!(TensorType::new(DType::I32, [usize::MAX, 2]).checked_len(), None);
    }
}
