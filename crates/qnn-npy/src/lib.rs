//! `qnn-npy`: NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) as [`qnn_ir::Tensor`]s.
//!
//! Reads little- or big-endian `u1`/`i1`/`u2`/`i2`/`i4`/`f4` arrays in C or Fortran order; writes
//! version 1.0 little-endian C-order files (what `numpy.save` writes). Anything else (float16,
//! int64, object arrays, truncated data) is an [`NpyError`] naming the file and the problem.
//!
//! qnn-ir has no 16-bit unsigned dtype: a `uint16` array is read into an `i32` tensor (every
//! value fits), which is how the ONNX importer carries `UINT16`; [`read_typed`] says which
//! type the file held, and [`write_as`] writes an `i32` tensor back as `uint16`, refusing a
//! value outside `0..=65535`.

mod header;

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use qnn_ir::{DType, Tensor};

pub use header::{Header, parse_header};

/// Errors of `qnn-npy`.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("not a .npy file: {0}")]
    Format(String),
    #[error(
        "unsupported .npy element type `{descr}` (supported: u1, i1, u2, i2, i4, f4 = uint8, int8, uint16, int16, int32, float32)"
    )]
    DType { descr: String },
    /// A tensor asked to be written as a type that does not carry its dtype.
    #[error("a {dtype} tensor cannot be written as {to} (it is written as {native})")]
    Carrier { dtype: DType, to: NpyType, native: NpyType },
    /// A value that the narrower file type cannot hold (nothing is clamped or wrapped).
    #[error("element {index} is {value}, which is not a {to} value")]
    OutOfRange { index: usize, value: i64, to: NpyType },
    #[error("the header promises {expected} bytes of data for shape {shape:?}, the file has {got}")]
    Size { shape: Vec<usize>, expected: usize, got: usize },
    #[error("{path}: {source}")]
    InFile { path: PathBuf, source: Box<NpyError> },
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// The element types of the `.npy` files qnn reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NpyType {
    U8,
    I8,
    /// Carried as an `i32` tensor.
    U16,
    I16,
    I32,
    F32,
}

impl NpyType {
    /// The numpy name (`uint8`, `uint16`, `float32`, …).
    pub fn numpy_name(self) -> &'static str {
        match self {
            NpyType::U8 => "uint8",
            NpyType::I8 => "int8",
            NpyType::U16 => "uint16",
            NpyType::I16 => "int16",
            NpyType::I32 => "int32",
            NpyType::F32 => "float32",
        }
    }

    /// The little-endian `descr` written in headers.
    pub fn descr(self) -> &'static str {
        match self {
            NpyType::U8 => "|u1",
            NpyType::I8 => "|i1",
            NpyType::U16 => "<u2",
            NpyType::I16 => "<i2",
            NpyType::I32 => "<i4",
            NpyType::F32 => "<f4",
        }
    }

    pub fn size_bytes(self) -> usize {
        match self {
            NpyType::U8 | NpyType::I8 => 1,
            NpyType::U16 | NpyType::I16 => 2,
            NpyType::I32 | NpyType::F32 => 4,
        }
    }

    /// The qnn-ir dtype of the tensors read from such a file.
    pub fn carrier(self) -> DType {
        match self {
            NpyType::U8 => DType::U8,
            NpyType::I8 => DType::I8,
            NpyType::I16 => DType::I16,
            NpyType::U16 | NpyType::I32 => DType::I32,
            NpyType::F32 => DType::F32,
        }
    }

    /// The file type a tensor of `dtype` is written as by [`write`].
    pub fn of(dtype: DType) -> NpyType {
        match dtype {
            DType::U8 => NpyType::U8,
            DType::I8 => NpyType::I8,
            DType::I16 => NpyType::I16,
            DType::I32 => NpyType::I32,
            DType::F32 => NpyType::F32,
        }
    }
}

impl std::fmt::Display for NpyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.numpy_name())
    }
}

/// Reads a `.npy` file.
pub fn read(path: impl AsRef<Path>) -> Result<Tensor, NpyError> {
    read_typed(path).map(|(t, _)| t)
}

/// Reads a `.npy` file, also returning the element type the file holds (a `uint16` file
/// gives an `i32` tensor and [`NpyType::U16`]).
pub fn read_typed(path: impl AsRef<Path>) -> Result<(Tensor, NpyType), NpyError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| NpyError::Io { path: path.into(), source })?;
    from_bytes_typed(&bytes)
        .map_err(|e| NpyError::InFile { path: path.into(), source: Box::new(e) })
}

/// Writes `t` as a version 1.0 `.npy` file.
pub fn write(path: impl AsRef<Path>, t: &Tensor) -> Result<(), NpyError> {
    let path = path.as_ref();
    std::fs::write(path, to_bytes(t)).map_err(|source| NpyError::Io { path: path.into(), source })
}

/// Writes `t` as a `.npy` file of element type `ty`: its own type, or `uint16` for an `i32`
/// tensor whose values all fit (else [`NpyError::OutOfRange`], and nothing is written).
pub fn write_as(path: impl AsRef<Path>, t: &Tensor, ty: NpyType) -> Result<(), NpyError> {
    let path = path.as_ref();
    let bytes = to_bytes_as(t, ty)
        .map_err(|e| NpyError::InFile { path: path.into(), source: Box::new(e) })?;
    std::fs::write(path, bytes).map_err(|source| NpyError::Io { path: path.into(), source })
}

/// Splits a `.npy` image into its header and its data bytes.
pub fn split(bytes: &[u8]) -> Result<(Header, &[u8]), NpyError> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(NpyError::Format("missing the \\x93NUMPY magic".into()));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len, start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10usize),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(|| NpyError::Format("truncated header".into()))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        _ => return Err(NpyError::Format(format!("format version {major}.{minor} is unknown"))),
    };
    let end = start.checked_add(len).filter(|&e| e <= bytes.len());
    let end = end.ok_or_else(|| {
        NpyError::Format(format!("header of {len} bytes runs past the end of the file"))
    })?;
    let text = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| NpyError::Format("the header is not text".into()))?;
    Ok((parse_header(text)?, &bytes[end..]))
}

/// Decodes a `.npy` image.
pub fn from_bytes(bytes: &[u8]) -> Result<Tensor, NpyError> {
    from_bytes_typed(bytes).map(|(t, _)| t)
}

/// Decodes a `.npy` image, also returning the file's element type.
pub fn from_bytes_typed(bytes: &[u8]) -> Result<(Tensor, NpyType), NpyError> {
    let (h, data) = split(bytes)?;
    let (ty, big_endian) = element(&h.descr)?;
    let n = h.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let expected = n.and_then(|n| n.checked_mul(ty.size_bytes()));
    let Some(expected) = expected.filter(|&e| e <= data.len()) else {
        return Err(NpyError::Size {
            shape: h.shape.clone(),
            expected: expected.unwrap_or(usize::MAX),
            got: data.len(),
        });
    };
    let data = &data[..expected];
    macro_rules! decode {
        ($t:ty, $n:literal, $variant:ident) => {{
            let v: Vec<$t> = data
                .chunks_exact($n)
                .map(|c| {
                    let mut b = [0u8; $n];
                    b.copy_from_slice(c);
                    if big_endian { <$t>::from_be_bytes(b) } else { <$t>::from_le_bytes(b) }
                })
                .collect();
            Tensor::$variant(shaped(&h, v)?)
        }};
    }
    let t = match ty {
        NpyType::U8 => Tensor::U8(shaped(&h, data.to_vec())?),
        NpyType::I8 => Tensor::I8(shaped(&h, data.iter().map(|&b| b as i8).collect())?),
        NpyType::U16 => {
            let v: Vec<i32> = data
                .chunks_exact(2)
                .map(|c| {
                    let b = [c[0], c[1]];
                    i32::from(if big_endian {
                        u16::from_be_bytes(b)
                    } else {
                        u16::from_le_bytes(b)
                    })
                })
                .collect();
            Tensor::I32(shaped(&h, v)?)
        }
        NpyType::I16 => decode!(i16, 2, I16),
        NpyType::I32 => decode!(i32, 4, I32),
        NpyType::F32 => decode!(f32, 4, F32),
    };
    Ok((t, ty))
}

fn shaped<T: Clone>(h: &Header, v: Vec<T>) -> Result<ArrayD<T>, NpyError> {
    let shape = IxDyn(&h.shape);
    let a = if h.fortran_order {
        ArrayD::from_shape_vec(shape.f(), v)
    } else {
        ArrayD::from_shape_vec(shape, v)
    };
    let a = a.map_err(|e| NpyError::Format(format!("shape {:?}: {e}", h.shape)))?;
    Ok(a.as_standard_layout().into_owned())
}

/// The element type and byte order of a `descr` string (`<f4`, `|u1`, …).
fn element(descr: &str) -> Result<(NpyType, bool), NpyError> {
    let bad = || NpyError::DType { descr: descr.into() };
    let mut chars = descr.chars();
    let order = chars.next().ok_or_else(bad)?;
    let big = match order {
        '<' | '|' | '=' => false,
        '>' => true,
        _ => return Err(bad()),
    };
    let ty = match chars.as_str() {
        "u1" => NpyType::U8,
        "i1" => NpyType::I8,
        "u2" => NpyType::U16,
        "i2" => NpyType::I16,
        "i4" => NpyType::I32,
        "f4" => NpyType::F32,
        _ => return Err(bad()),
    };
    Ok((ty, big && ty.size_bytes() > 1))
}

/// Encodes `t` as a `.npy` image of element type `ty` (see [`write_as`]).
pub fn to_bytes_as(t: &Tensor, ty: NpyType) -> Result<Vec<u8>, NpyError> {
    let native = NpyType::of(t.dtype());
    match (t, ty) {
        _ if ty == native => Ok(to_bytes(t)),
        (Tensor::I32(a), NpyType::U16) => {
            let mut out = header(ty, t.shape(), t.len());
            for (index, &v) in a.iter().enumerate() {
                let v = u16::try_from(v).map_err(|_| NpyError::OutOfRange {
                    index,
                    value: i64::from(v),
                    to: ty,
                })?;
                out.extend_from_slice(&v.to_le_bytes());
            }
            Ok(out)
        }
        _ => Err(NpyError::Carrier { dtype: t.dtype(), to: ty, native }),
    }
}

/// Encodes `t` as a version 1.0 `.npy` image (little-endian, C order).
pub fn to_bytes(t: &Tensor) -> Vec<u8> {
    let mut out = header(NpyType::of(t.dtype()), t.shape(), t.len());
    match t {
        Tensor::U8(a) => out.extend(a.iter().copied()),
        Tensor::I8(a) => out.extend(a.iter().map(|&v| v as u8)),
        Tensor::I16(a) => a.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        Tensor::I32(a) => a.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        Tensor::F32(a) => a.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
    }
    out
}

/// Magic, version 1.0 and the padded header of a C-order array; room for `len` elements.
fn header(ty: NpyType, shape: &[usize], len: usize) -> Vec<u8> {
    let descr = ty.descr();
    let shape = match shape {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + len * ty.size_bytes());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}
