//! The TensorFlow Lite importer on arbitrary bytes: flatbuffer verification, format checks
//! and import either fail with an error or give a graph that prints, parses back and runs on
//! the reference interpreter. Seeds: `fuzz/seeds/tflite_bytes` (qnn-tflite's fixture models).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    qnn_fuzz::import_tflite_and_check(data);
});
