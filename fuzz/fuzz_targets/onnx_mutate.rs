//! The ONNX importer on mutated valid models: the fuzzer's bytes pick a fixture model and a
//! list of edits of its decoded fields (`qnn_fuzz::onnx_mutate`); the edited model is encoded
//! again and imported. Errors are answers; a panic, an out-of-memory or a hang is a bug.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use qnn_fuzz::onnx_mutate::mutate;
use qnn_fuzz::onnx_seeds::SEEDS;
use qnn_onnx::proto::ModelProto;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(which) = u.choose_index(SEEDS.len()) else { return };
    let Ok(mut model) = ModelProto::decode(SEEDS[which].1) else {
        panic!("seed {} does not decode", SEEDS[which].0);
    };
    mutate(&mut u, &mut model);
    let bytes = model.encode_to_vec();
    // `QNN_FUZZ_DUMP=FILE`: write the mutated model, to turn a crash into a regression test.
    if let Some(path) = std::env::var_os("QNN_FUZZ_DUMP") {
        std::fs::write(path, &bytes).expect("QNN_FUZZ_DUMP is writable");
    }
    qnn_fuzz::import_and_check(&bytes);
});
