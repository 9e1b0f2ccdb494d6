//! `.npy` files as ONNX constants, for graph inputs the importer needs as constants (scales,
//! zero points, shapes). Unlike run-time inputs these may have element types qnn-ir lacks
//! (float16 scales, int64 shapes, uint16 zero points), so they are decoded here into a
//! [`Constant`] of the matching ONNX type.

use std::path::Path;

use anyhow::{Context, Result, bail};
use qnn_onnx::{ConstData, Constant, OnnxType};

/// Reads `path` as a constant.
pub fn read(path: &Path) -> Result<Constant> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    decode(&bytes).with_context(|| format!("{}", path.display()))
}

/// The ONNX type, element size and byte order of a numpy `descr`.
fn element(descr: &str) -> Result<(OnnxType, usize, bool)> {
    let (order, code) = descr.split_at(descr.len().min(1));
    let big = match order {
        "<" | "|" | "=" => false,
        ">" => true,
        _ => bail!("unsupported .npy element type `{descr}`"),
    };
    let (ty, size) = match code {
        "u1" => (OnnxType::UINT8, 1),
        "i1" => (OnnxType::INT8, 1),
        "b1" => (OnnxType::BOOL, 1),
        "u2" => (OnnxType::UINT16, 2),
        "i2" => (OnnxType::INT16, 2),
        "f2" => (OnnxType::FLOAT16, 2),
        "u4" => (OnnxType::UINT32, 4),
        "i4" => (OnnxType::INT32, 4),
        "f4" => (OnnxType::FLOAT, 4),
        "u8" => (OnnxType::UINT64, 8),
        "i8" => (OnnxType::INT64, 8),
        "f8" => (OnnxType::DOUBLE, 8),
        _ => bail!(
            "unsupported .npy element type `{descr}` for a constant input (bool, uint8/16/32/64, \
             int8/16/32/64, float16/32/64)"
        ),
    };
    Ok((ty, size, big && size > 1))
}

/// Decodes a `.npy` image into a constant (C order).
pub fn decode(bytes: &[u8]) -> Result<Constant> {
    let (h, data) = qnn_npy::split(bytes)?;
    let (ty, size, big) = element(&h.descr)?;
    let n = h.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let Some(len) = n.and_then(|n| n.checked_mul(size)).filter(|&l| l <= data.len()) else {
        bail!("the header promises more data for shape {:?} than the file holds", h.shape);
    };
    let words = data[..len].chunks_exact(size).map(|c| {
        let mut w = [0u8; 8];
        w[..size].copy_from_slice(c);
        if big {
            w[..size].reverse();
        }
        u64::from_le_bytes(w)
    });
    let data = match ty {
        OnnxType::FLOAT => ConstData::Float(words.map(|w| f32::from_bits(w as u32)).collect()),
        OnnxType::FLOAT16 => ConstData::Float(words.map(|w| f16_to_f32(w as u16)).collect()),
        OnnxType::DOUBLE => ConstData::Double(words.map(f64::from_bits).collect()),
        OnnxType::INT8 => ConstData::Int(words.map(|w| i64::from(w as u8 as i8)).collect()),
        OnnxType::INT16 => ConstData::Int(words.map(|w| i64::from(w as u16 as i16)).collect()),
        OnnxType::INT32 => ConstData::Int(words.map(|w| i64::from(w as u32 as i32)).collect()),
        OnnxType::INT64 => ConstData::Int(words.map(|w| w as i64).collect()),
        OnnxType::UINT64 => {
            let v: Result<Vec<i64>, _> = words.map(i64::try_from).collect();
            ConstData::Int(v.context("a uint64 value does not fit int64")?)
        }
        OnnxType::BOOL if words.clone().any(|w| w > 1) => bail!("a bool element is not 0 or 1"),
        // uint8/16/32 and bool: the word is the value.
        _ => ConstData::Int(words.map(|w| w as i64).collect()),
    };
    let data = if h.fortran_order { to_c_order(data, &h.shape) } else { data };
    Ok(Constant { ty, shape: h.shape, data })
}

/// Reorders column-major elements into row-major order.
fn to_c_order(data: ConstData, shape: &[usize]) -> ConstData {
    fn reorder<T: Copy>(v: Vec<T>, shape: &[usize]) -> Vec<T> {
        // Column-major strides: the first dimension varies fastest.
        let mut strides = vec![1usize; shape.len()];
        for k in 1..shape.len() {
            strides[k] = strides[k - 1] * shape[k - 1];
        }
        let mut index = vec![0usize; shape.len()];
        let mut out = Vec::with_capacity(v.len());
        for _ in 0..v.len() {
            out.push(v[index.iter().zip(&strides).map(|(i, s)| i * s).sum::<usize>()]);
            // Next row-major index: the last dimension varies fastest.
            for k in (0..shape.len()).rev() {
                index[k] += 1;
                if index[k] < shape[k] {
                    break;
                }
                index[k] = 0;
            }
        }
        out
    }
    match data {
        ConstData::Float(v) => ConstData::Float(reorder(v, shape)),
        ConstData::Double(v) => ConstData::Double(reorder(v, shape)),
        ConstData::Int(v) => ConstData::Int(reorder(v, shape)),
        // Not made here (decode gives `Int`): reordered through its i64 values.
        ConstData::Typed(_) => to_c_order(data.widened().into_owned(), shape),
    }
}

/// IEEE half-precision bits to `f32` (exact: every half value is an f32 value).
fn f16_to_f32(bits: u16) -> f32 {
    let sign = if bits >> 15 == 1 { -1.0f32 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f32::from(bits & 0x3ff);
    match exp {
        // Subnormal: frac · 2^−24.
        0 => sign * frac * 2f32.powi(-24),
        31 if frac == 0.0 => sign * f32::INFINITY,
        31 => f32::from_bits(0x7fc0_0000 | (u32::from(bits & 0x3ff) << 13)) * sign,
        // (1 + frac/1024) · 2^(exp − 15), exact in f32.
        e => sign * (1.0 + frac / 1024.0) * 2f32.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let f = if fortran { "True" } else { "False" };
        let header = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}");
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn half_floats_are_exact() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x2e66), 0.099_975_586);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        let data: Vec<u8> = [0x3c00u16, 0x2e66].iter().flat_map(|v| v.to_le_bytes()).collect();
        let c = decode(&npy("<f2", false, "(2,)", &data)).unwrap();
        assert_eq!((c.ty, c.floats().unwrap()), (OnnxType::FLOAT16, &[1.0, 0.099_975_586][..]));
    }

    #[test]
    fn integer_types_and_orders() {
        let data: Vec<u8> =
            [1u16, 4, 2, 5, 3, 65535].iter().flat_map(|v| v.to_be_bytes()).collect();
        let c = decode(&npy(">u2", true, "(2, 3)", &data)).unwrap();
        assert_eq!(c.ty, OnnxType::UINT16);
        assert_eq!(c.shape, vec![2, 3]);
        assert_eq!(&*c.ints().unwrap(), &[1, 2, 3, 4, 5, 65535]);
        let c = decode(&npy("<i8", false, "()", &(-5i64).to_le_bytes())).unwrap();
        assert_eq!((c.ty, &*c.ints().unwrap()), (OnnxType::INT64, &[-5][..]));
        let c = decode(&npy("|i1", false, "(1,)", &[0x80])).unwrap();
        assert_eq!(&*c.ints().unwrap(), &[-128]);
    }

    #[test]
    fn bad_files_are_errors() {
        assert!(decode(&npy("<f4", false, "(3,)", &[0; 8])).is_err());
        assert!(decode(&npy("<c8", false, "(1,)", &[0; 8])).is_err());
        assert!(decode(&npy("|b1", false, "(1,)", &[2])).is_err());
        assert!(decode(b"not a numpy file").is_err());
    }
}
