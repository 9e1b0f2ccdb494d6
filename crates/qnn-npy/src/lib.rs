//! `qnn-npy`: NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) as [`qnn_ir::Tensor`]s.
//!
//! Reads little- or big-endian `u1`/`i1`/`i2`/`i4`/`f4` arrays in C or Fortran order; writes
//! version 1.0 little-endian C-order files (what `numpy.save` writes). Anything else (float16,
//! int64, object arrays, truncated data) is an [`NpyError`] naming the file and the problem.

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
        "unsupported .npy element type `{descr}` (supported: u1, i1, i2, i4, f4 = uint8, int8, int16, int32, float32)"
    )]
    DType { descr: String },
    #[error("the header promises {expected} bytes of data for shape {shape:?}, the file has {got}")]
    Size { shape: Vec<usize>, expected: usize, got: usize },
    #[error("{path}: {source}")]
    InFile { path: PathBuf, source: Box<NpyError> },
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Reads a `.npy` file.
pub fn read(path: impl AsRef<Path>) -> Result<Tensor, NpyError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| NpyError::Io { path: path.into(), source })?;
    from_bytes(&bytes).map_err(|e| NpyError::InFile { path: path.into(), source: Box::new(e) })
}

/// Writes `t` as a version 1.0 `.npy` file.
pub fn write(path: impl AsRef<Path>, t: &Tensor) -> Result<(), NpyError> {
    let path = path.as_ref();
    std::fs::write(path, to_bytes(t)).map_err(|source| NpyError::Io { path: path.into(), source })
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
    let (h, data) = split(bytes)?;
    let (dtype, big_endian) = element(&h.descr)?;
    let n = h.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let expected = n.and_then(|n| n.checked_mul(dtype.size_bytes()));
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
    Ok(match dtype {
        DType::U8 => Tensor::U8(shaped(&h, data.to_vec())?),
        DType::I8 => Tensor::I8(shaped(&h, data.iter().map(|&b| b as i8).collect())?),
        DType::I16 => decode!(i16, 2, I16),
        DType::I32 => decode!(i32, 4, I32),
        DType::F32 => decode!(f32, 4, F32),
    })
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

/// The dtype and byte order of a `descr` string (`<f4`, `|u1`, …).
fn element(descr: &str) -> Result<(DType, bool), NpyError> {
    let bad = || NpyError::DType { descr: descr.into() };
    let mut chars = descr.chars();
    let order = chars.next().ok_or_else(bad)?;
    let big = match order {
        '<' | '|' | '=' => false,
        '>' => true,
        _ => return Err(bad()),
    };
    let dtype = match chars.as_str() {
        "u1" => DType::U8,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "f4" => DType::F32,
        _ => return Err(bad()),
    };
    Ok((dtype, big && dtype.size_bytes() > 1))
}

/// Encodes `t` as a version 1.0 `.npy` image (little-endian, C order).
pub fn to_bytes(t: &Tensor) -> Vec<u8> {
    let descr = match t.dtype() {
        DType::U8 => "|u1",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::F32 => "<f4",
    };
    let shape = match t.shape() {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + t.len() * t.dtype().size_bytes());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    match t {
        Tensor::U8(a) => out.extend(a.iter().copied()),
        Tensor::I8(a) => out.extend(a.iter().map(|&v| v as u8)),
        Tensor::I16(a) => a.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        Tensor::I32(a) => a.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        Tensor::F32(a) => a.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
    }
    out
}
