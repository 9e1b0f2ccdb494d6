//! `.npy` round trips, files written by NumPy, and malformed input.

use proptest::prelude::*;
use qnn_ir::{DType, Tensor};
use qnn_npy::{NpyError, NpyType, from_bytes, from_bytes_typed, to_bytes, to_bytes_as};

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

    /// `uint16` files: an `i32` tensor of values in 0..=65535 written as `<u2` reads back as
    /// the same `i32` tensor, and the reader says the file held `uint16`.
    #[test]
    fn u16_round_trip(shape in prop::collection::vec(0usize..5, 0..4),
                      values in prop::collection::vec(0i32..=65535, 64)) {
        let n: usize = shape.iter().product();
        let v: Vec<i32> = (0..n).map(|i| values[i % values.len()]).collect();
        let t = Tensor::from_vec(&shape, v).unwrap();
        let bytes = to_bytes_as(&t, NpyType::U16).unwrap();
        prop_assert_eq!(bytes.len() % 64, (2 * n) % 64);
        prop_assert!(bytes.windows(3).any(|w| w == b"<u2"));
        prop_assert_eq!(from_bytes_typed(&bytes).unwrap(), (t.clone(), NpyType::U16));
        // Its own type is the plain encoding.
        prop_assert_eq!(to_bytes_as(&t, NpyType::I32).unwrap(), to_bytes(&t));
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

/// `np.array([[258, 65535]], dtype='>u2')`, spelled out: big-endian uint16 widens to i32.
#[test]
fn big_endian_u16() {
    let header = b"{'descr': '>u2', 'fortran_order': False, 'shape': (1, 2), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header);
    for v in [258u16, 65535] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    let (t, ty) = from_bytes_typed(&bytes).unwrap();
    assert_eq!(ty, NpyType::U16);
    assert_eq!(t, Tensor::from_vec(&[1, 2], vec![258i32, 65535]).unwrap());
}

/// Values a `uint16` file cannot hold are refused with their index, never wrapped; a tensor
/// is never written as a type that does not carry its dtype.
#[test]
fn u16_out_of_range_and_wrong_carrier() {
    for (v, index) in [(vec![0, 65535, 65536], 2), (vec![-1, 0, 1], 0)] {
        let t = Tensor::from_vec(&[3], v).unwrap();
        let e = to_bytes_as(&t, NpyType::U16).unwrap_err();
        assert!(matches!(e, NpyError::OutOfRange { index: i, .. } if i == index), "{e}");
        assert!(e.to_string().contains("uint16"), "{e}");
    }
    let f = Tensor::from_vec(&[1], vec![1.0f32]).unwrap();
    let e = to_bytes_as(&f, NpyType::U16).unwrap_err();
    assert!(matches!(e, NpyError::Carrier { dtype: DType::F32, .. }), "{e}");
    let dir = std::env::temp_dir().join(format!("qnn-npy-u16-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.npy");
    let bad = Tensor::from_vec(&[1], vec![70000i32]).unwrap();
    let e = qnn_npy::write_as(&path, &bad, NpyType::U16).unwrap_err();
    assert!(e.to_string().contains("bad.npy") && e.to_string().contains("70000"), "{e}");
    assert!(!path.exists(), "nothing is written on error");
    let ok = Tensor::from_vec(&[2], vec![7i32, 65535]).unwrap();
    qnn_npy::write_as(&path, &ok, NpyType::U16).unwrap();
    assert_eq!(qnn_npy::read_typed(&path).unwrap(), (ok, NpyType::U16));
    std::fs::remove_dir_all(&dir).unwrap();
}
