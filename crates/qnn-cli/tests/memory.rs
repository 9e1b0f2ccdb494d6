//! Peak memory of `qnn run` on a model with a large 8-bit weight (issue 14): weights travel
//! from the file to the packed panels at their element type, so the peak stays near the
//! file plus the packed weights and the arena, where widened copies (`i64` in the legalizer,
//! `i32` OHWI in the records) once took about 50 times the weight's size. The model is
//! built here (`qnn_onnx::synth`); the peak is the one `qnn run --profile` reports (Linux).

mod common;

use std::path::Path;

use common::*;
use qnn_onnx::proto::GraphProto;
use qnn_onnx::synth;

const MIB: f64 = (1u64 << 20) as f64;

/// One `QLinearConv` 1×1 of `c` → `o` channels on a `[1, c, 1, 1]` u8 input, its weight
/// `o × c` elements of ONNX type `w_type` (2 u8, 3 i8) with zero point `w_zp`.
fn big_conv(c: usize, o: usize, w_type: i32, w_zp: u8) -> Vec<u8> {
    let f32_scalar = |name: &str, v: f32| synth::raw_tensor(name, 1, &[], v.to_le_bytes().to_vec());
    // Small weights in -3..=3 around the zero point, so the sums stay far from saturation.
    let w: Vec<u8> = (0..o * c).map(|i| w_zp.wrapping_add((i % 7) as u8).wrapping_sub(3)).collect();
    let (ci, oi) = (c as i64, o as i64);
    synth::encode(GraphProto {
        node: vec![synth::node(
            "QLinearConv",
            &["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"],
            "y",
            Vec::new(),
        )],
        name: "big_weight".into(),
        initializer: vec![
            f32_scalar("xs", 0.05),
            synth::raw_tensor("xz", 2, &[], vec![128]),
            synth::raw_tensor("w", w_type, &[oi, ci, 1, 1], w),
            f32_scalar("ws", 0.01),
            synth::raw_tensor("wz", w_type, &[], vec![w_zp]),
            f32_scalar("ys", 0.5),
            synth::raw_tensor("yz", 2, &[], vec![128]),
        ],
        input: vec![synth::value_info("x", 2, &[1, ci, 1, 1])],
        output: vec![synth::value_info("y", 2, &[1, oi, 1, 1])],
        ..GraphProto::default()
    })
}

/// The figures of the `memory:` line of `qnn run --profile`, in MiB: peak, model file,
/// packed weights, activation arena, other constants.
fn memory_line(out: &str) -> [f64; 5] {
    let line = out.lines().find(|l| l.starts_with("memory: peak resident ")).expect(out);
    let nums: Vec<f64> =
        line.split(" MiB").filter_map(|part| part.rsplit(' ').next()?.parse().ok()).collect();
    nums.try_into().unwrap_or_else(|n| panic!("five figures in {line:?}, got {n:?}"))
}

/// Runs `qnn run --profile` on `bytes` with `extra` options; returns the `memory:` figures.
fn run_profiled(dir: &Path, bytes: &[u8], c: usize, extra: &[&str]) -> [f64; 5] {
    let m = dir.join("m.onnx");
    std::fs::write(&m, bytes).unwrap();
    let x = dir.join("x.npy");
    let xt = qnn_ir::Tensor::from_vec(&[1, c, 1, 1], (0..c).map(|i| i as u8).collect()).unwrap();
    qnn_npy::write(&x, &xt).unwrap();
    let out = dir.join("out");
    let mut args = vec!["run", s(&m), "-i", s(&x), "-o", s(&out), "--profile"];
    args.extend_from_slice(extra);
    memory_line(&ok(&qnn(&args)))
}

/// The bound: the file, the packed weights, the arena and the plan's constants, plus
/// `copies` more weight-sized tensors the chosen lowering needs (shifted or int16 weights in
/// the lowered graph) and `MARGIN` for the binary, its libraries and allocator slack.
const MARGIN_MIB: f64 = 40.0;

#[track_caller]
fn assert_bounded(fig: [f64; 5], weight_mib: f64, copies: f64) {
    let [peak, file, packed, arena, consts] = fig;
    assert!(file >= weight_mib && packed >= weight_mib, "{fig:?}");
    let bound = file + packed + arena + consts + copies * weight_mib + MARGIN_MIB;
    assert!(peak <= bound, "peak {peak} MiB above {bound} MiB: {fig:?}");
    // The widened copies held about 50 times the weight's size.
    assert!(peak < 6.0 * weight_mib + MARGIN_MIB, "{fig:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_large_weight_is_held_at_its_element_type() {
    let dir = scratch("memory_i8");
    let (c, o) = (4096, 6144); // 24 MiB of i8 weights
    let weight_mib = (c * o) as f64 / MIB;
    // i8 weights, zero point 0, int8 forced on the portable backend: no shift, no int16
    // copy; the graph's weight tensor is the legalizer's and the record's.
    let fig = run_profiled(
        &dir,
        &big_conv(c, o, 3, 0),
        c,
        &["--backend", "portable", "--lowering", "int8-terms"],
    );
    assert_bounded(fig, weight_mib, 0.0);
}

#[cfg(target_os = "linux")]
#[test]
fn a_large_shifted_weight_costs_one_more_copy_at_most() {
    let dir = scratch("memory_u8");
    let (c, o) = (4096, 6144);
    let weight_mib = (c * o) as f64 / MIB;
    // u8 weights with zero point 128 on this machine's own choice: a u8×s8 dot product
    // shifts them to i8 (one byte each), an int16 lowering folds `W − w` into i16 (two).
    let fig = run_profiled(&dir, &big_conv(c, o, 2, 128), c, &[]);
    assert_bounded(fig, weight_mib, 2.0);
}

#[test]
fn the_memory_line_reads_back() {
    let out = "x\nmemory: peak resident 80.5 MiB (model file 24.0 MiB, packed weights 24.1 MiB, \
               activation arena 0.0 MiB, other constants 0.0 MiB)\n";
    assert_eq!(memory_line(out), [80.5, 24.0, 24.1, 0.0, 0.0]);
}
