//! Constant tensors (initializers, `Constant` nodes, bound inputs, folded shapes) in their ONNX
//! element type, decoded from `TensorProto` with every size checked.

use ndarray::{ArrayD, IxDyn};
use qnn_ir::limits::{Limits, extent_bytes};
use qnn_ir::{DType, IrError, Tensor};

use crate::error::OnnxError;
use crate::onnx_type::OnnxType;
use crate::proto::TensorProto;

/// A constant tensor. Floating types are held as `f32` (float16 converts exactly) or `f64`;
/// every integer type (bool included) as `i64`.
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
}

impl ConstData {
    pub fn len(&self) -> usize {
        match self {
            ConstData::Float(v) => v.len(),
            ConstData::Double(v) => v.len(),
            ConstData::Int(v) => v.len(),
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
    /// exceed `limits`: integer elements are held as `i64`, so an `n`-element integer tensor
    /// takes `8·n` bytes whatever its ONNX type.
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
            decode_raw(ty, raw)
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
        let c = Constant { ty, shape, data };
        c.check_range(name)?;
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

    /// Integer elements.
    pub fn ints(&self) -> Option<&[i64]> {
        match &self.data {
            ConstData::Int(v) => Some(v),
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
        let shape = IxDyn(&self.shape);
        Some(match (self.ty.dtype()?, &self.data) {
            (DType::F32, ConstData::Float(v)) => {
                Tensor::F32(ArrayD::from_shape_vec(shape, v.clone()).ok()?)
            }
            (dtype, ConstData::Int(v)) => {
                let a = ArrayD::from_shape_vec(shape, v.clone()).ok()?;
                Tensor::from_i64("constant", dtype, a).ok()?
            }
            _ => return None,
        })
    }
}

fn decode_raw(ty: OnnxType, raw: &[u8]) -> ConstData {
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
        OnnxType::INT8 => ConstData::Int(raw.iter().map(|&b| i64::from(b as i8)).collect()),
        OnnxType::UINT8 | OnnxType::BOOL => {
            ConstData::Int(raw.iter().map(|&b| i64::from(b)).collect())
        }
        OnnxType::INT16 => {
            ConstData::Int(chunks::<2>(raw).map(|b| i64::from(i16::from_le_bytes(b))).collect())
        }
        OnnxType::UINT16 => {
            ConstData::Int(chunks::<2>(raw).map(|b| i64::from(u16::from_le_bytes(b))).collect())
        }
        OnnxType::INT32 => {
            ConstData::Int(chunks::<4>(raw).map(|b| i64::from(i32::from_le_bytes(b))).collect())
        }
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
