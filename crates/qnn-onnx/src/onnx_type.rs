//! ONNX element types (`TensorProto.DataType`).

use std::fmt;

use qnn_ir::DType;

/// An ONNX element type. Every code the format defines has a name; [`OnnxType::dtype`] says
/// which ones have a qnn-ir counterpart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OnnxType(pub i32);

const NAMES: [&str; 27] = [
    "UNDEFINED",
    "FLOAT",
    "UINT8",
    "INT8",
    "UINT16",
    "INT16",
    "INT32",
    "INT64",
    "STRING",
    "BOOL",
    "FLOAT16",
    "DOUBLE",
    "UINT32",
    "UINT64",
    "COMPLEX64",
    "COMPLEX128",
    "BFLOAT16",
    "FLOAT8E4M3FN",
    "FLOAT8E4M3FNUZ",
    "FLOAT8E5M2",
    "FLOAT8E5M2FNUZ",
    "UINT4",
    "INT4",
    "FLOAT4E2M1",
    "FLOAT8E8M0",
    "UINT2",
    "INT2",
];

impl OnnxType {
    pub const FLOAT: OnnxType = OnnxType(1);
    pub const UINT8: OnnxType = OnnxType(2);
    pub const INT8: OnnxType = OnnxType(3);
    pub const UINT16: OnnxType = OnnxType(4);
    pub const INT16: OnnxType = OnnxType(5);
    pub const INT32: OnnxType = OnnxType(6);
    pub const INT64: OnnxType = OnnxType(7);
    pub const BOOL: OnnxType = OnnxType(9);
    pub const FLOAT16: OnnxType = OnnxType(10);
    pub const DOUBLE: OnnxType = OnnxType(11);
    pub const UINT32: OnnxType = OnnxType(12);
    pub const UINT64: OnnxType = OnnxType(13);

    /// The ONNX name (`FLOAT`, `UINT8`, …).
    pub fn name(self) -> &'static str {
        usize::try_from(self.0).ok().and_then(|i| NAMES.get(i)).copied().unwrap_or("UNKNOWN")
    }

    /// The numpy name (`float32`, `uint8`, …) where numpy has one.
    pub fn numpy_name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "float32",
            2 => "uint8",
            3 => "int8",
            4 => "uint16",
            5 => "int16",
            6 => "int32",
            7 => "int64",
            9 => "bool",
            10 => "float16",
            11 => "float64",
            12 => "uint32",
            13 => "uint64",
            _ => return None,
        })
    }

    /// The qnn-ir dtype that carries tensors of this type, if there is one. UINT16, which
    /// qnn-ir lacks, is carried as i32 (every value fits; the importer clamps what it
    /// quantizes to 0..=65535).
    pub fn dtype(self) -> Option<DType> {
        Some(match self {
            OnnxType::FLOAT => DType::F32,
            OnnxType::UINT8 => DType::U8,
            OnnxType::INT8 => DType::I8,
            OnnxType::INT16 => DType::I16,
            OnnxType::INT32 | OnnxType::UINT16 => DType::I32,
            _ => return None,
        })
    }

    /// The ONNX type of a qnn-ir dtype.
    pub fn of(dtype: DType) -> OnnxType {
        match dtype {
            DType::U8 => OnnxType::UINT8,
            DType::I8 => OnnxType::INT8,
            DType::I16 => OnnxType::INT16,
            DType::I32 => OnnxType::INT32,
            DType::F32 => OnnxType::FLOAT,
        }
    }

    /// Integer types whose values fit `i64` (bool included).
    pub(crate) fn is_integer(self) -> bool {
        matches!(self.0, 2..=7 | 9 | 12 | 13)
    }
}

impl fmt::Display for OnnxType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
