//! Element conversion of data runs into a kernel's element type (the frame's copies):
//! `dst[i] = src[i] − offset`, exact (the caller proved the shifted range fits `dst`'s type).
//! One `match` per run, plain loops inside, so the compiler vectorizes them.

use qnn_ir::DType;

use crate::pack::{get, put};

/// Converts `n` elements of `sdt` at `src` to `ddt` at `dst`, subtracting `offset`.
pub(crate) fn convert_run(
    src: &[u8],
    sdt: DType,
    dst: &mut [u8],
    ddt: DType,
    n: usize,
    offset: i32,
) {
    match (sdt, ddt) {
        (s, d) if s == d && offset == 0 => {
            let bytes = n * s.size_bytes();
            dst[..bytes].copy_from_slice(&src[..bytes]);
        }
        (DType::U8 | DType::I8, DType::U8 | DType::I8) => {
            let signed = sdt == DType::I8;
            for (d, &s) in dst[..n].iter_mut().zip(&src[..n]) {
                let v = if signed { i32::from(s as i8) } else { i32::from(s) };
                *d = (v - offset) as u8;
            }
        }
        (DType::U8, DType::I16) => {
            for (d, &s) in dst[..2 * n].chunks_exact_mut(2).zip(&src[..n]) {
                d.copy_from_slice(&((i32::from(s) - offset) as i16).to_le_bytes());
            }
        }
        (DType::I8, DType::I16) => {
            for (d, &s) in dst[..2 * n].chunks_exact_mut(2).zip(&src[..n]) {
                d.copy_from_slice(&((i32::from(s as i8) - offset) as i16).to_le_bytes());
            }
        }
        (DType::I16, _) => {
            for i in 0..n {
                let v = i32::from(i16::from_le_bytes([src[2 * i], src[2 * i + 1]])) - offset;
                put(dst, ddt, i, v);
            }
        }
        _ => {
            for i in 0..n {
                put(dst, ddt, i, get(src, sdt, i) - offset);
            }
        }
    }
}

/// Fills `n` elements of `ddt` at `dst` with `v`.
pub(crate) fn fill_run(dst: &mut [u8], ddt: DType, n: usize, v: i32) {
    match ddt {
        DType::I16 => {
            let b = (v as i16).to_le_bytes();
            for d in dst[..2 * n].chunks_exact_mut(2) {
                d.copy_from_slice(&b);
            }
        }
        _ => dst[..n].fill(v as u8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::get;

    #[test]
    fn every_pair_of_types_converts_exactly() {
        let src_vals = [-128i32, -1, 0, 1, 127];
        for (sdt, off) in [(DType::U8, 0), (DType::U8, 128), (DType::I8, -128), (DType::I8, 5)] {
            let vals: Vec<i32> =
                src_vals.iter().map(|v| if sdt == DType::U8 { v + 128 } else { *v }).collect();
            let src: Vec<u8> = vals.iter().map(|&v| v as u8).collect();
            for ddt in [DType::I16, DType::U8, DType::I8] {
                let fits = vals.iter().all(|&v| ddt.contains(i64::from(v - off)));
                if !fits {
                    continue;
                }
                let mut dst = vec![0u8; vals.len() * ddt.size_bytes()];
                convert_run(&src, sdt, &mut dst, ddt, vals.len(), off);
                for (i, &v) in vals.iter().enumerate() {
                    assert_eq!(get(&dst, ddt, i), v - off, "{sdt}→{ddt} offset {off}");
                }
            }
        }
        let src: Vec<u8> = [-300i16, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut dst = vec![0u8; 4];
        convert_run(&src, DType::I16, &mut dst, DType::I16, 2, -3);
        assert_eq!((get(&dst, DType::I16, 0), get(&dst, DType::I16, 1)), (-297, 10));
        fill_run(&mut dst, DType::I16, 2, -2);
        assert_eq!((get(&dst, DType::I16, 0), get(&dst, DType::I16, 1)), (-2, -2));
    }
}
