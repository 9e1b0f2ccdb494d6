//! Constant tensors (initializers, `Constant` nodes, bound inputs, folded shapes) in their ONNX
//! element type, decoded from `TensorProto` with every size checked.

use std::borrow::Cow;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};
use qnn_ir::limits::{Limits, extent_bytes};
use qnn_ir::{DType, IrError, Tensor};

use crate::error::OnnxError;
use crate::onnx_type::OnnxType;
use crate::proto::TensorProto;

/// A constant tensor. Floating types are held as `f32` (float16 converts exactly) or `f64`;
/// initializers of the integer types qnn-ir holds (UINT8, INT8, INT16, INT32) at their
/// element type ([`ConstData::Typed`]), shared with the graph value made from them; other
/// integer types (bool included) and constants computed at import time as `i64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    pub ty: OnnxType,
    pub shape: Vec<usize>,
    pub data: ConstData,
}

/// The elements of a [`Constant`], row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstData {
    Float(Vec<f32>),
    Double(Vec<f64>),
    Int(Vec<i64>),
    /// An integer tensor at its element type (u8, i8, i16, i32): a weight takes the bytes
    /// of its file, not 8 per element.
    Typed(Arc<Tensor>),
}

impl ConstData {
    pub fn len(&self) -> usize {
        match self {
            ConstData::Float(v) => v.len(),
            ConstData::Double(v) => v.len(),
            ConstData::Int(v) => v.len(),
            ConstData::Typed(t) => t.len(),
        }
    }

    /// The same elements with integers as `i64` ([`ConstData::Typed`] widened; the rest
    /// borrowed): for the import-time folding of small constants (shapes, axes, indices).
    pub fn widened(&self) -> Cow<'_, ConstData> {
        match self {
            ConstData::Typed(t) => Cow::Owned(ConstData::Int(widen(t))),
            d => Cow::Borrowed(d),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Number of elements of `shape`, or an error naming `name` when the product overflows.
pub(crate) fn element_count(name: &str, shape: &[usize]) -> Result<usize, OnnxError> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| OnnxError::tensor(name, format!("shape {shape:?} has too many elements")))
}

/// Refuses a constant of type `ty` and `shape` whose decoded elements (`f32` for float and
/// float16, `f64`, else `i64`) would take more than `limits.max_tensor_bytes`, or whose
/// dimensions overflow (empty dimensions count as 1, as in [`qnn_ir::limits`]).
fn check_decoded(
    what: &str,
    ty: OnnxType,
    shape: &[usize],
    limits: &Limits,
) -> Result<(), OnnxError> {
    let (held, size) = match ty {
        OnnxType::FLOAT | OnnxType::FLOAT16 => ("f32", 4),
        OnnxType::DOUBLE => ("f64", 8),
        OnnxType::UINT8 => ("u8", 1),
        OnnxType::INT8 => ("i8", 1),
        OnnxType::INT16 => ("i16", 2),
        OnnxType::INT32 => ("i32", 4),
        _ => ("i64", 8),
    };
    let bytes = extent_bytes(shape, size);
    if bytes.is_some_and(|b| b <= limits.max_tensor_bytes) {
        return Ok(());
    }
    Err(OnnxError::Limit(Box::new(IrError::LimitExceeded {
        what: format!("{what} ({ty} {shape:?}, held as {held})"),
        bytes,
        limit: limits.max_tensor_bytes,
    })))
}

/// `f16` bits to `f32` (exact: every half value is a float).
pub(crate) fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exp = u32::from((bits >> 10) & 0x1f);
    let frac = u32::from(bits & 0x3ff);
    let magnitude = match (exp, frac) {
        (0, 0) => 0,
        // Subnormal: frac · 2^−24, exact in f32.
        (0, f) => return (f as f32) * 2f32.powi(-24) * sign_of(bits),
        (31, 0) => 0xff << 23,
        (31, f) => (0xff << 23) | (f << 13),
        (e, f) => ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(sign | magnitude)
}

fn sign_of(bits: u16) -> f32 {
    if bits >> 15 == 1 { -1.0 } else { 1.0 }
}

impl Constant {
    /// Decodes a `TensorProto` (`raw_data` or the typed field, little-endian) within the
    /// process-wide default [`Limits`].
    pub fn from_proto(t: &TensorProto) -> Result<Constant, OnnxError> {
        Constant::from_proto_within(t, &Limits::default())
    }

    /// Decodes a `TensorProto`, refusing (before decoding) one whose decoded form would
    /// exceed `limits`: UINT8, INT8, INT16 and INT32 elements are held at their size, the
    /// other integer types as `i64` (8 bytes each).
    pub fn from_proto_within(t: &TensorProto, limits: &Limits) -> Result<Constant, OnnxError> {
        let name = t.name.as_str();
        let ty = OnnxType(t.data_type);
        if t.data_location == 1 || !t.external_data.is_empty() {
            return Err(OnnxError::tensor(
                name,
                "external data (a separate file) is not supported",
            ));
        }
        let mut shape = Vec::with_capacity(t.dims.len());
        for &d in &t.dims {
            shape.push(usize::try_from(d).map_err(|_| {
                OnnxError::tensor(name, format!("negative dimension {d} in {:?}", t.dims))
            })?);
        }
        check_decoded(&format!("tensor `{name}`"), ty, &shape, limits)?;
        let n = element_count(name, &shape)?;
        let size = match ty {
            OnnxType::UINT8 | OnnxType::INT8 | OnnxType::BOOL => 1,
            OnnxType::UINT16 | OnnxType::INT16 | OnnxType::FLOAT16 => 2,
            OnnxType::FLOAT | OnnxType::INT32 | OnnxType::UINT32 => 4,
            OnnxType::INT64 | OnnxType::DOUBLE | OnnxType::UINT64 => 8,
            _ => {
                return Err(OnnxError::tensor(name, format!("element type {ty} is not supported")));
            }
        };
        let count_error = |got: usize, field: &str| {
            OnnxError::tensor(
                name,
                format!("{got} values in `{field}` for shape {shape:?} ({ty}); expected {n}"),
            )
        };
        let data = if !t.raw_data.is_empty() || n == 0 {
            let raw = &t.raw_data;
            if Some(raw.len()) != n.checked_mul(size) {
                return Err(count_error(raw.len() / size, "raw_data"));
            }
            decode_raw(ty, raw, &shape)
        } else {
            let typed = |len: usize, field: &str| {
                if len == n { Ok(()) } else { Err(count_error(len, field)) }
            };
            match ty {
                OnnxType::FLOAT => {
                    typed(t.float_data.len(), "float_data")?;
                    ConstData::Float(t.float_data.clone())
                }
                OnnxType::FLOAT16 => {
                    typed(t.int32_data.len(), "int32_data")?;
                    ConstData::Float(t.int32_data.iter().map(|&b| f16_to_f32(b as u16)).collect())
                }
                OnnxType::DOUBLE => {
                    typed(t.double_data.len(), "double_data")?;
                    ConstData::Double(t.double_data.clone())
                }
                OnnxType::INT64 => {
                    typed(t.int64_data.len(), "int64_data")?;
                    ConstData::Int(t.int64_data.clone())
                }
                OnnxType::UINT32 | OnnxType::UINT64 => {
                    typed(t.uint64_data.len(), "uint64_data")?;
                    let v: Result<Vec<i64>, _> =
                        t.uint64_data.iter().map(|&v| i64::try_from(v)).collect();
                    ConstData::Int(v.map_err(|_| {
                        OnnxError::tensor(name, "a UINT64 value does not fit int64")
                    })?)
                }
                _ => {
                    typed(t.int32_data.len(), "int32_data")?;
                    ConstData::Int(t.int32_data.iter().map(|&v| i64::from(v)).collect())
                }
            }
        };
        let mut c = Constant { ty, shape, data };
        c.check_range(name)?;
        // A typed field (int32_data) is decoded as i64 and range-checked first; stored at
        // its element type like raw data.
        if let (ConstData::Int(v), Some(d @ (DType::U8 | DType::I8 | DType::I16 | DType::I32))) =
            (&c.data, stored_type(ty))
        {
            let a = ArrayD::from_shape_vec(IxDyn(&c.shape), v.clone())
                .map_err(|e| OnnxError::tensor(name, e.to_string()))?;
            let t =
                Tensor::from_i64(name, d, a).map_err(|e| OnnxError::tensor(name, e.to_string()))?;
            c.data = ConstData::Typed(Arc::new(t));
        }
        Ok(c)
    }

    /// Errors when this constant's shape is beyond `limits` (for constants computed at import
    /// time: folded shape arithmetic, `Constant` nodes).
    pub(crate) fn check_within(&self, name: &str, limits: &Limits) -> Result<(), OnnxError> {
        check_decoded(&format!("constant `{name}`"), self.ty, &self.shape, limits)
    }

    /// Integer values must lie in their type's range (typed fields can hold any int32).
    fn check_range(&self, name: &str) -> Result<(), OnnxError> {
        let (lo, hi) = match self.ty {
            OnnxType::UINT8 => (0, 255),
            OnnxType::INT8 => (-128, 127),
            OnnxType::UINT16 => (0, 65535),
            OnnxType::INT16 => (-32768, 32767),
            OnnxType::BOOL => (0, 1),
            OnnxType::UINT32 => (0, i64::from(u32::MAX)),
            _ => return Ok(()),
        };
        if let ConstData::Int(v) = &self.data
            && let Some(bad) = v.iter().find(|&&x| x < lo || x > hi)
        {
            return Err(OnnxError::tensor(name, format!("value {bad} is not a {}", self.ty)));
        }
        Ok(())
    }

    /// A constant from a qnn-ir tensor.
    pub fn from_tensor(t: &Tensor) -> Constant {
        let ty = OnnxType::of(t.dtype());
        let data = match t {
            Tensor::F32(a) => ConstData::Float(a.iter().copied().collect()),
            _ => {
                ConstData::Int(t.to_i64().map(|a| a.iter().copied().collect()).unwrap_or_default())
            }
        };
        Constant { ty, shape: t.shape().to_vec(), data }
    }

    /// A 1-D int64 constant.
    pub fn i64s(values: Vec<i64>) -> Constant {
        Constant { ty: OnnxType::INT64, shape: vec![values.len()], data: ConstData::Int(values) }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Integer elements (those held at their element type widened: shapes, axes and zero
    /// points are small).
    pub fn ints(&self) -> Option<Cow<'_, [i64]>> {
        match &self.data {
            ConstData::Int(v) => Some(Cow::Borrowed(v)),
            ConstData::Typed(t) => Some(Cow::Owned(widen(t))),
            _ => None,
        }
    }

    /// `f32` elements (float and float16 constants).
    pub fn floats(&self) -> Option<&[f32]> {
        match &self.data {
            ConstData::Float(v) => Some(v),
            _ => None,
        }
    }

    /// The qnn-ir tensor of this constant; `None` for element types qnn-ir lacks.
    pub fn to_tensor(&self) -> Option<Tensor> {
        self.to_shared_tensor().map(Arc::unwrap_or_clone)
    }

    /// [`Constant::to_tensor`] shared: a constant held at its element type is not copied.
    pub fn to_shared_tensor(&self) -> Option<Arc<Tensor>> {
        if let ConstData::Typed(t) = &self.data {
            return Some(t.clone());
        }
        let shape = IxDyn(&self.shape);
        Some(
            match (self.ty.dtype()?, &self.data) {
                (DType::F32, ConstData::Float(v)) => {
                    Tensor::F32(ArrayD::from_shape_vec(shape, v.clone()).ok()?)
                }
                (dtype, ConstData::Int(v)) => {
                    let a = ArrayD::from_shape_vec(shape, v.clone()).ok()?;
                    Tensor::from_i64("constant", dtype, a).ok()?
                }
                _ => return None,
            }
            .into(),
        )
    }
}

/// The qnn-ir element type a constant of ONNX type `ty` is stored at ([`ConstData::Typed`]),
/// when it is one qnn-ir holds at the same width (UINT16 is carried as i32: not stored typed).
fn stored_type(ty: OnnxType) -> Option<DType> {
    match ty {
        OnnxType::UINT8 => Some(DType::U8),
        OnnxType::INT8 => Some(DType::I8),
        OnnxType::INT16 => Some(DType::I16),
        OnnxType::INT32 => Some(DType::I32),
        _ => None,
    }
}

/// The elements of an integer tensor as `i64`, row-major.
fn widen(t: &Tensor) -> Vec<i64> {
    t.to_i64().map(|a| a.iter().copied().collect()).unwrap_or_default()
}

/// `raw` (little-endian, its length checked) as a tensor of `shape`.
fn typed_raw<T: qnn_ir::Element, const N: usize>(
    raw: &[u8],
    shape: &[usize],
    from: fn([u8; N]) -> T,
) -> ConstData {
    let v: Vec<T> = raw
        .chunks_exact(N)
        .map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            from(b)
        })
        .collect();
    match Tensor::from_vec(shape, v) {
        Ok(t) => ConstData::Typed(Arc::new(t)),
        // Unreachable: the caller checked raw.len() = N · the element count of `shape`.
        Err(_) => ConstData::Int(Vec::new()),
    }
}

fn decode_raw(ty: OnnxType, raw: &[u8], shape: &[usize]) -> ConstData {
    fn chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
        raw.chunks_exact(N).map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            b
        })
    }
    match ty {
        OnnxType::FLOAT => ConstData::Float(chunks::<4>(raw).map(f32::from_le_bytes).collect()),
        OnnxType::FLOAT16 => {
            ConstData::Float(chunks::<2>(raw).map(|b| f16_to_f32(u16::from_le_bytes(b))).collect())
        }
        OnnxType::DOUBLE => ConstData::Double(chunks::<8>(raw).map(f64::from_le_bytes).collect()),
        OnnxType::INT8 => typed_raw::<i8, 1>(raw, shape, i8::from_le_bytes),
        OnnxType::UINT8 => typed_raw::<u8, 1>(raw, shape, u8::from_le_bytes),
        OnnxType::BOOL => ConstData::Int(raw.iter().map(|&b| i64::from(b)).collect()),
        OnnxType::INT16 => typed_raw::<i16, 2>(raw, shape, i16::from_le_bytes),
        OnnxType::UINT16 => {
            ConstData::Int(chunks::<2>(raw).map(|b| i64::from(u16::from_le_bytes(b))).collect())
        }
        OnnxType::INT32 => typed_raw::<i32, 4>(raw, shape, i32::from_le_bytes),
        OnnxType::UINT32 => {
            ConstData::Int(chunks::<4>(raw).map(|b| i64::from(u32::from_le_bytes(b))).collect())
        }
        // INT64, and UINT64 as its bits (values above i64::MAX come out negative; the only
        // integer constants the importer reads are shapes, axes and zero points, checked where
        // read).
        _ => ConstData::Int(chunks::<8>(raw).map(i64::from_le_bytes).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c01).is_nan());
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert_eq!(f16_to_f32(0x2e66), 0.099_975_586);
    }

    #[test]
    fn integer_initializers_keep_their_element_type() {
        let raw = |data_type: i32, raw_data: Vec<u8>| TensorProto {
            dims: vec![2],
            data_type,
            raw_data,
            ..TensorProto::default()
        };
        let cases = [
            (raw(2, vec![1, 255]), Tensor::from_vec(&[2], vec![1u8, 255]).unwrap(), vec![1, 255]),
            (
                raw(3, vec![0x80, 7]),
                Tensor::from_vec(&[2], vec![-128i8, 7]).unwrap(),
                vec![-128, 7],
            ),
            (
                raw(5, vec![0, 0x80, 1, 0]),
                Tensor::from_vec(&[2], vec![i16::MIN, 1]).unwrap(),
                vec![-32768, 1],
            ),
            (
                raw(6, [i32::MIN.to_le_bytes(), 9i32.to_le_bytes()].concat()),
                Tensor::from_vec(&[2], vec![i32::MIN, 9]).unwrap(),
                vec![i64::from(i32::MIN), 9],
            ),
        ];
        for (proto, tensor, ints) in cases {
            let c = Constant::from_proto(&proto).unwrap();
            assert!(matches!(&c.data, ConstData::Typed(t) if **t == tensor), "{c:?}");
            assert_eq!(c.to_tensor().unwrap(), tensor);
            assert_eq!(c.ints().unwrap().into_owned(), ints);
        }
        // The typed field is stored typed too, after its range check.
        let u8s = TensorProto {
            dims: vec![2],
            data_type: 2,
            int32_data: vec![1, 255],
            ..TensorProto::default()
        };
        let c = Constant::from_proto(&u8s).unwrap();
        assert!(matches!(&c.data, ConstData::Typed(t) if t.dtype() == DType::U8));
    }

    #[test]
    fn sizes_are_checked() {
        let mut t = TensorProto { dims: vec![2, 3], data_type: 1, ..TensorProto::default() };
        t.raw_data = vec![0; 23];
        assert!(Constant::from_proto(&t).unwrap_err().to_string().contains("expected 6"));
        t.raw_data = vec![0; 24];
        assert_eq!(Constant::from_proto(&t).unwrap().len(), 6);
        t.raw_data.clear();
        t.float_data = vec![1.0; 5];
        assert!(Constant::from_proto(&t).is_err());
        let u8s = TensorProto {
            dims: vec![2],
            data_type: 2,
            int32_data: vec![1, 300],
            ..TensorProto::default()
        };
        assert!(Constant::from_proto(&u8s).unwrap_err().to_string().contains("300"));
        let neg = TensorProto { dims: vec![-1], data_type: 1, ..TensorProto::default() };
        assert!(Constant::from_proto(&neg).is_err());
        let huge =
            TensorProto { dims: vec![1 << 40, 1 << 40], data_type: 1, ..TensorProto::default() };
        assert!(Constant::from_proto(&huge).is_err());
        let bf16 = TensorProto {
            dims: vec![1],
            data_type: 16,
            raw_data: vec![0, 0],
            ..TensorProto::default()
        };
        assert!(Constant::from_proto(&bf16).unwrap_err().to_string().contains("BFLOAT16"));
    }
}
