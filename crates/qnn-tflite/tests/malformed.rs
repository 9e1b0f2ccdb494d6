//! Malformed and unsupported models get errors that name the problem (and the operator),
//! never a panic: truncations and byte flips of every fixture, hand-built broken models.

mod common;

use common::{Op, Opt, T, build};
use qnn_ir::limits::Limits;
use qnn_tflite::schema::{ActivationFunctionType as Act, BuiltinOperator, TensorType};
use qnn_tflite::{ImportOptions, Model, TfliteError};

fn fixtures() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ops");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tflite"))
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn import(bytes: Vec<u8>) -> Result<qnn_tflite::Imported, TfliteError> {
    Model::from_bytes(bytes)?.import(&ImportOptions::default())
}

#[test]
fn truncated_and_flipped_files_never_panic() {
    let (mut errors, mut oks) = (0, 0);
    for bytes in fixtures() {
        for cut in (0..bytes.len()).step_by(bytes.len() / 40 + 1) {
            assert!(import(bytes[..cut].to_vec()).is_err(), "a file cut at {cut} imported");
            errors += 1;
        }
        // Deterministic byte flips over the whole file (tables, offsets, data).
        let mut state = bytes.len() as u64;
        for _ in 0..200 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let mut b = bytes.clone();
            let at = (state >> 33) as usize % b.len();
            b[at] ^= 1 << ((state >> 29) % 8);
            match import(b) {
                Ok(_) => oks += 1,
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    errors += 1;
                }
            }
        }
    }
    assert!(errors > 0 && oks > 0, "{errors} errors, {oks} imports");
}

#[test]
fn not_tflite_is_refused_by_content() {
    let e = Model::from_bytes(b"\x08\x07\x12\x04onnx model bytes".to_vec()).unwrap_err();
    assert!(e.to_string().contains("TFL3"), "{e}");
}

fn add_tensors() -> Vec<T> {
    vec![
        T::q8(&[1, 2, 2, 3], TensorType::INT8, 0.5, 1),
        T::q8(&[1, 2, 2, 3], TensorType::INT8, 0.25, -3),
        T::q8(&[1, 2, 2, 3], TensorType::INT8, 0.5, 0),
    ]
}

#[test]
fn unsupported_operator_is_named() {
    let op =
        Op { code: BuiltinOperator::SOFTMAX, inputs: vec![0], outputs: vec![2], opt: Opt::None };
    let e = import(build(&add_tensors(), &[op], &[0], &[2])).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, TfliteError::Unsupported { .. }) && msg.contains("#0 SOFTMAX"), "{msg}");
}

#[test]
fn unsupported_fused_activation_is_named() {
    let op = Op {
        code: BuiltinOperator::ADD,
        inputs: vec![0, 1],
        outputs: vec![2],
        opt: Opt::Add(Act::TANH),
    };
    let msg = import(build(&add_tensors(), &[op], &[0, 1], &[2])).unwrap_err().to_string();
    assert!(msg.contains("#0 ADD") && msg.contains("TANH"), "{msg}");
}

#[test]
fn bad_indices_and_missing_options_are_errors() {
    let out_of_range = Op {
        code: BuiltinOperator::ADD,
        inputs: vec![0, 7],
        outputs: vec![2],
        opt: Opt::Add(Act::NONE),
    };
    let msg = import(build(&add_tensors(), &[out_of_range], &[0], &[2])).unwrap_err().to_string();
    assert!(msg.contains("tensor index 7"), "{msg}");
    let no_options =
        Op { code: BuiltinOperator::ADD, inputs: vec![0, 1], outputs: vec![2], opt: Opt::None };
    let msg = import(build(&add_tensors(), &[no_options], &[0, 1], &[2])).unwrap_err().to_string();
    assert!(msg.contains("#0 ADD") && msg.contains("AddOptions"), "{msg}");
    let unread = Op {
        code: BuiltinOperator::ADD,
        inputs: vec![0, 1],
        outputs: vec![2],
        opt: Opt::Add(Act::NONE),
    };
    let msg = import(build(&add_tensors(), &[unread], &[0], &[2])).unwrap_err().to_string();
    assert!(msg.contains("read before any operator produces it"), "{msg}");
}

#[test]
fn wrong_buffer_size_is_an_error() {
    let mut tensors = add_tensors();
    tensors[1].data = Some(vec![0; 5]); // 12 values declared
    let op = Op {
        code: BuiltinOperator::ADD,
        inputs: vec![0, 1],
        outputs: vec![2],
        opt: Opt::Add(Act::NONE),
    };
    let msg = import(build(&tensors, &[op], &[0], &[2])).unwrap_err().to_string();
    assert!(msg.contains("buffer of 5 bytes for 12"), "{msg}");
}

#[test]
fn huge_shapes_hit_the_limits_before_any_allocation() {
    let mut tensors = add_tensors();
    tensors[0].shape = vec![1 << 30, 1 << 30, 1 << 30, 3];
    let op = Op {
        code: BuiltinOperator::ADD,
        inputs: vec![0, 1],
        outputs: vec![2],
        opt: Opt::Add(Act::NONE),
    };
    let e = import(build(&tensors, &[op], &[0, 1], &[2])).unwrap_err();
    assert!(matches!(e, TfliteError::Limit(_)), "{e}");
    let small = ImportOptions {
        limits: Some(Limits::DEFAULT.with_tensor_bytes(8)),
        ..ImportOptions::default()
    };
    let op = Op {
        code: BuiltinOperator::ADD,
        inputs: vec![0, 1],
        outputs: vec![2],
        opt: Opt::Add(Act::NONE),
    };
    let e = Model::from_bytes(build(&add_tensors(), &[op], &[0, 1], &[2]))
        .unwrap()
        .import(&small)
        .unwrap_err();
    assert!(matches!(e, TfliteError::Limit(_)), "{e}");
}
