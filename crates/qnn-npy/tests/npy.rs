//! `.npy` round trips, files written by NumPy, and malformed input.

use proptest::prelude::*;
use qnn_ir::{DType, Tensor};
use qnn_npy::{NpyError, from_bytes, to_bytes};

/// 256 cases, or `QNN_PROPTEST_CASES`.
fn config() -> ProptestConfig {
    let cases = std::env::var("QNN_PROPTEST_CASES").ok().and_then(|s| s.parse().ok());
    ProptestConfig {
        cases: cases.unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn tensor(dtype: DType, shape: Vec<usize>, seed: i64) -> Tensor {
    let n: usize = shape.iter().product();
    let v = |i: usize| (i as i64 * 7919 + seed).rem_euclid(300) - 150;
    match dtype {
        DType::U8 => Tensor::from_vec(&shape, (0..n).map(|i| v(i) as u8).collect()).unwrap(),
        DType::I8 => Tensor::from_vec(&shape, (0..n).map(|i| v(i) as i8).collect()).unwrap(),
        DType::I16 => {
            Tensor::from_vec(&shape, (0..n).map(|i| v(i) as i16 * 100).collect()).unwrap()
        }
        DType::I32 => {
            Tensor::from_vec(&shape, (0..n).map(|i| (v(i) as i32) << 20).collect()).unwrap()
        }
        DType::F32 => {
            Tensor::from_vec(&shape, (0..n).map(|i| v(i) as f32 / 3.0).collect()).unwrap()
        }
    }
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn round_trip(dtype in prop::sample::select(DType::ALL.to_vec()),
                  shape in prop::collection::vec(0usize..5, 0..4), seed in any::<i16>()) {
        let t = tensor(dtype, shape, i64::from(seed));
        let bytes = to_bytes(&t);
        // numpy's alignment rule: data starts at a multiple of 64.
        prop_assert_eq!((bytes.len() - t.len() * dtype.size_bytes()) % 64, 0);
        prop_assert_eq!(from_bytes(&bytes).unwrap(), t);
    }

    #[test]
    fn mutated_bytes_never_panic(cut in 0usize..200, flips in prop::collection::vec((0usize..200, any::<u8>()), 0..6)) {
        let mut bytes = to_bytes(&tensor(DType::F32, vec![3, 4], 1));
        for (i, b) in flips {
            if i < bytes.len() { bytes[i] = b; }
        }
        bytes.truncate(cut);
        let _ = from_bytes(&bytes);
    }
}

/// `np.save(f, np.array([[1, 2, 3], [4, 5, 6]], dtype='>i2', order='F'))`, spelled out.
#[test]
fn big_endian_fortran_order() {
    let header = b"{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header);
    for v in [1i16, 4, 2, 5, 3, 6] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    let t = from_bytes(&bytes).unwrap();
    assert_eq!(t, Tensor::from_vec(&[2, 3], vec![1i16, 2, 3, 4, 5, 6]).unwrap());
}

#[test]
fn errors() {
    let ok = to_bytes(&tensor(DType::I32, vec![2, 2], 0));
    assert!(matches!(
        from_bytes(&ok[..ok.len() - 1]),
        Err(NpyError::Size { expected: 16, got: 15, .. })
    ));
    assert!(matches!(from_bytes(b"PK\x03\x04"), Err(NpyError::Format(_))));
    let with_descr = |descr: &[u8; 3]| {
        let mut b = ok.clone();
        let at = b.windows(3).position(|w| w == b"<i4").unwrap();
        b[at..at + 3].copy_from_slice(descr);
        b
    };
    let e = from_bytes(&with_descr(b"<f2")).unwrap_err();
    assert!(matches!(e, NpyError::DType { ref descr } if descr == "<f2"), "{e}");
    let e = from_bytes(&with_descr(b"<i8")).unwrap_err();
    assert!(e.to_string().contains("<i8") && e.to_string().contains("float32"), "{e}");
    let e = qnn_npy::read("/nonexistent/x.npy").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/x.npy"), "{e}");
}
