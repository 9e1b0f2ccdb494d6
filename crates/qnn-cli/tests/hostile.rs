//! Hostile and huge inputs (issue 14): option values that would abort or allocate without
//! bound, inconsistent models, extreme parameters, output folders that must not lose or mix
//! files. Every model is generated here (`qnn_onnx::synth`); exit status 0 success, 1
//! refused or failed, 2 usage, never a panic (101) or an abort (134).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use qnn_onnx::proto::{AttributeProto, GraphProto, TensorProto};
use qnn_onnx::synth::{self, Initializers};

/// A u8 `[1, 2, 4, 4]` input as `.npy`.
fn input_npy(dir: &Path) -> PathBuf {
    let t = qnn_ir::Tensor::from_i64(
        "x",
        qnn_ir::DType::U8,
        ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[1, 2, 4, 4]), |i| (i[2] * 4 + i[3]) as i64),
    )
    .unwrap();
    let p = dir.join("x.npy");
    qnn_npy::write(&p, &t).unwrap();
    p
}

fn f32_tensor(name: &str, v: f32) -> TensorProto {
    synth::raw_tensor(name, 1, &[], v.to_le_bytes().to_vec())
}

fn attr_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: 3, s: v.as_bytes().to_vec(), ..Default::default() }
}

fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: 7, ints: v.to_vec(), ..Default::default() }
}

/// One `QLinearConv` (2 → 2 channels, `k`×`k`) with the given scales and attributes, on a u8
/// `[1, 2, 4, 4]` input `x`.
fn qconv(x_scale: f32, w_scale: f32, y_scale: f32, k: i64, attrs: Vec<AttributeProto>) -> Vec<u8> {
    let initializer = vec![
        f32_tensor("xs", x_scale),
        synth::raw_tensor("xz", 2, &[], vec![128]),
        synth::raw_tensor("w", 3, &[2, 2, k, k], vec![1; (4 * k * k) as usize]),
        f32_tensor("ws", w_scale),
        synth::raw_tensor("wz", 3, &[], vec![0]),
        f32_tensor("ys", y_scale),
        synth::raw_tensor("yz", 2, &[], vec![128]),
    ];
    let node =
        synth::node("QLinearConv", &["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], "y", attrs);
    synth::encode(GraphProto {
        node: vec![node],
        name: "g".into(),
        initializer,
        input: vec![synth::value_info("x", 2, &[1, 2, 4, 4])],
        output: vec![synth::value_info("y", 2, &[])],
        ..GraphProto::default()
    })
}

fn save(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run_in(model: &Path, x: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut a = vec!["run", s(model), "-i", s(x), "-o", s(out)];
    a.extend_from_slice(extra);
    qnn(&a)
}

/// Exit status 2 (usage), clap's message naming the option, no panic.
#[track_caller]
fn usage(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit status 2:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// A chain of two 1×1 convolutions whose graph outputs are both nodes' outputs.
fn two_outputs() -> Vec<u8> {
    let bytes = synth::qlinearconv_chain(2, 2, Initializers::Shared);
    let mut m = qnn_onnx::proto::decode_model(&bytes).unwrap();
    let g = m.graph.as_mut().unwrap();
    g.output.insert(0, synth::value_info("t0", 2, &[1, 2, 4, 4]));
    use prost::Message;
    m.encode_to_vec()
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| {
                    let p = e.path();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(&p).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn options_beyond_their_bounds_are_usage_errors() {
    let dir = scratch("options");
    let x = input_npy(&dir);
    let m = save(&dir, "m.onnx", &synth::qlinearconv_chain(2, 2, Initializers::Shared));
    let out = dir.join("out");
    for (opt, value, says) in [
        ("--threads", "100000", "threads is more than 16 per core"),
        ("--threads", "4294967296", "threads is more than 16 per core"),
        ("--threads", "-1", "not a thread count"),
        ("--repeat", "4294967295", "give 1 to 1000000"),
        ("--repeat", "0", "give 1 to 1000000"),
        ("--warmup", "99999999999999999999", "not a count of runs"),
        ("--max-tensor-mib", "0", "give 1 to"),
    ] {
        let e = usage(&run_in(&m, &x, &out, &[&format!("{opt}={value}")]));
        assert!(e.contains(opt) && e.contains(says), "{opt} {value}: {e}");
    }
    assert!(!out.exists(), "a refused option wrote nothing");
    // Within the bounds it runs.
    ok(&run_in(&m, &x, &out, &["--threads", "2", "--repeat", "3"]));
    let help = stdout(&qnn(&["run", "--help"]));
    assert!(help.contains("--max-tensor-mib") && help.contains("[default: 2048]"), "{help}");
    assert!(help.contains("[default: 16384]") && help.contains("Exit status"), "{help}");
}

#[test]
fn a_tiny_resource_limit_refuses_and_a_raised_one_runs() {
    let dir = scratch("limits");
    let x = input_npy(&dir);
    let m = save(&dir, "m.onnx", &synth::qlinearconv_chain(1, 2, Initializers::Shared));
    ok(&run_in(&m, &x, &dir.join("a"), &["--max-tensor-mib", "1", "--max-graph-mib", "1"]));
    let big = synth::qlinearconv_chain(1, 1024, Initializers::Shared); // 1 MiB of weights
    let m = save(&dir, "big.onnx", &big);
    let e = fails(&qnn(&["inspect", s(&m), "--max-tensor-mib", "1", "--max-graph-mib", "1"]));
    assert!(e.contains("limit") || e.contains("exceed"), "{e}");
    ok(&qnn(&["inspect", s(&m)]));
}

#[test]
fn scales_that_underflow_or_overflow_say_so() {
    let dir = scratch("scales");
    let x = input_npy(&dir);
    let m = save(&dir, "xs.onnx", &qconv(1e-45, 0.01, 0.05, 1, vec![]));
    for o in [qnn(&["inspect", s(&m)]), run_in(&m, &x, &dir.join("o"), &[])] {
        let e = fails(&o);
        assert!(e.contains("1e-45") && e.contains("underflowed"), "{e}");
    }
    // y_scale 1e-45 is valid alone, but the multiplier overflows: refused by both commands,
    // naming the value.
    let m = save(&dir, "ys.onnx", &qconv(0.05, 0.01, 1e-45, 1, vec![]));
    for o in [qnn(&["inspect", s(&m)]), run_in(&m, &x, &dir.join("o"), &[])] {
        let e = fails(&o);
        assert!(e.contains("output scale 1e-45") && e.contains("inf"), "{e}");
    }
    assert!(!dir.join("o").exists());
}

#[test]
fn inconsistent_models_are_refused() {
    let dir = scratch("inconsistent");
    let x = input_npy(&dir);
    let same = |pads: &[i64]| {
        qconv(
            0.05,
            0.01,
            0.05,
            3,
            vec![attr_str("auto_pad", "SAME_UPPER"), attr_ints("pads", pads)],
        )
    };
    let m = save(&dir, "pads.onnx", &same(&[0, 0, 0, 0]));
    let e = fails(&run_in(&m, &x, &dir.join("o"), &[]));
    assert!(
        e.contains("[0, 0, 0, 0] conflicts with auto_pad `SAME_UPPER`, which gives [1, 1, 1, 1]"),
        "{e}"
    );
    // The pads auto_pad computes are unambiguous: accepted.
    let m = save(&dir, "pads-ok.onnx", &same(&[1, 1, 1, 1]));
    ok(&run_in(&m, &x, &dir.join("ok"), &[]));
    // Uneven: SAME_UPPER puts the extra row and column at the end ([h, w begin, h, w end]).
    let upper = |pads: &[i64]| {
        let attrs = vec![attr_str("auto_pad", "SAME_UPPER"), attr_ints("pads", pads)];
        qconv(0.05, 0.01, 0.05, 2, attrs)
    };
    let m = save(&dir, "pads-uneven.onnx", &upper(&[1, 1, 0, 0]));
    let e = fails(&run_in(&m, &x, &dir.join("o"), &[]));
    assert!(
        e.contains("[1, 1, 0, 0] conflicts with auto_pad `SAME_UPPER`, which gives [0, 0, 1, 1]"),
        "{e}"
    );
    let m = save(&dir, "pads-uneven-ok.onnx", &upper(&[0, 0, 1, 1]));
    ok(&run_in(&m, &x, &dir.join("ok2"), &[]));

    let mut g = qnn_onnx::proto::decode_model(&qconv(0.05, 0.01, 0.05, 1, vec![])).unwrap();
    g.graph.as_mut().unwrap().output.clear();
    use prost::Message;
    let m = save(&dir, "no-outputs.onnx", &g.encode_to_vec());
    let e = fails(&run_in(&m, &x, &dir.join("o"), &[]));
    assert!(e.contains("declares no output"), "{e}");

    let mut g = qnn_onnx::proto::decode_model(&qconv(0.05, 0.01, 0.05, 1, vec![])).unwrap();
    g.graph.as_mut().unwrap().node[0].op_type.clear();
    let m = save(&dir, "no-op.onnx", &g.encode_to_vec());
    let e = fails(&qnn(&["inspect", s(&m)]));
    assert!(e.contains("empty op_type"), "{e}");

    let m = save(&dir, "empty.onnx", b"");
    let e = fails(&qnn(&["inspect", s(&m)]));
    assert!(e.contains("the file is empty (0 bytes)"), "{e}");
    assert!(!dir.join("o").exists());
}

#[test]
fn dequantize_axis_outside_the_rank_names_the_axis() {
    let dir = scratch("dq-axis");
    let node = synth::node(
        "DequantizeLinear",
        &["x", "s", "z"],
        "y",
        vec![AttributeProto { name: "axis".into(), r#type: 2, i: 7, ..Default::default() }],
    );
    let bytes = synth::encode(GraphProto {
        node: vec![node],
        name: "g".into(),
        initializer: vec![
            synth::raw_tensor(
                "s",
                1,
                &[2],
                [0.1f32, 0.2].iter().flat_map(|f| f.to_le_bytes()).collect(),
            ),
            synth::raw_tensor("z", 2, &[2], vec![1, 2]),
        ],
        input: vec![synth::value_info("x", 2, &[1, 2, 4, 4])],
        output: vec![synth::value_info("y", 1, &[])],
        ..GraphProto::default()
    });
    let m = save(&dir, "dq.onnx", &bytes);
    let e = fails(&qnn(&["inspect", s(&m)]));
    assert!(e.contains("`axis`: 7 is outside the rank 4"), "{e}");
}

#[test]
fn a_missing_input_among_many_prints_one_short_line() {
    let dir = scratch("many-inputs");
    let mut g = qnn_onnx::proto::decode_model(&qconv(0.05, 0.01, 0.05, 1, vec![])).unwrap();
    let graph = g.graph.as_mut().unwrap();
    for i in 0..100_000 {
        graph.input.push(synth::value_info(&format!("unused_input_{i}"), 2, &[1]));
    }
    use prost::Message;
    let m = save(&dir, "many.onnx", &g.encode_to_vec());
    let o = qnn(&["run", s(&m), "-o", s(&dir.join("o"))]);
    let e = fails(&o);
    assert!(e.len() < 2000, "{} bytes: {}", e.len(), &e[..2000]);
    assert!(e.contains("100001 input(s)") && e.contains("(100001 in all)"), "{e}");
}

#[test]
fn outputs_are_all_or_nothing() {
    let dir = scratch("atomic");
    let x = input_npy(&dir);
    let m = save(&dir, "two.onnx", &two_outputs());
    let out = dir.join("out");
    ok(&run_in(&m, &x, &out, &[]));
    let before = listing(&out);
    assert_eq!(
        before.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["output_0.npy", "output_1.npy"]
    );

    // output_1.npy cannot be replaced (a folder): nothing changes, output_0 included.
    std::fs::write(out.join("output_0.npy"), b"old").unwrap();
    std::fs::remove_file(out.join("output_1.npy")).unwrap();
    std::fs::create_dir(out.join("output_1.npy")).unwrap();
    let before = listing(&out);
    let e = fails(&run_in(&m, &x, &out, &[]));
    assert!(e.contains("output_1.npy is a folder"), "{e}");
    assert_eq!(listing(&out), before);
    std::fs::remove_dir(out.join("output_1.npy")).unwrap();

    // An output that is an input of the run is refused before anything runs.
    ok(&run_in(&m, &x, &out, &[]));
    let as_input = out.join("output_0.npy");
    let before = listing(&out);
    let o = qnn(&["run", s(&m), "-i", s(&as_input), "-o", s(&out)]);
    let e = fails(&o);
    assert!(e.contains("is one of this run's inputs"), "{e}");
    assert_eq!(listing(&out), before);
}

/// A disk that fills while the outputs are written (here a file-size limit, `ulimit -f`, with
/// SIGXFSZ ignored so that the write fails with EFBIG as on a full disk): exit 1, the
/// previous outputs intact, no temporary file left.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_leaves_the_previous_outputs() {
    let dir = scratch("full-disk");
    let channels = 64; // each output 64·16 bytes + a 128-byte header: over 1 KiB
    let t = qnn_ir::Tensor::from_i64(
        "x",
        qnn_ir::DType::U8,
        ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[1, channels, 4, 4]), |i| {
            (i[1] + i[2] * 4 + i[3]) as i64
        }),
    )
    .unwrap();
    let x = dir.join("x.npy");
    qnn_npy::write(&x, &t).unwrap();
    let m = save(&dir, "m.onnx", &synth::qlinearconv_chain(2, channels, Initializers::Shared));
    let out = dir.join("out");
    ok(&run_in(&m, &x, &out, &[]));
    let before = listing(&out);
    assert!(before[0].1.len() > 1024);
    let o = std::process::Command::new("bash")
        .args(["-c", "trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_qnn"))
        .args(["run", s(&m), "-i", s(&x), "-o", s(&out)])
        .env_remove("QNN_BACKEND")
        .output()
        .unwrap();
    let e = fails(&o);
    assert!(e.contains("no output written") && e.contains("as it was before the run"), "{e}");
    assert_eq!(listing(&out), before, "the folder changed");
}

#[cfg(unix)]
#[test]
fn a_symlinked_output_is_replaced_not_written_through() {
    let dir = scratch("symlink");
    let x = input_npy(&dir);
    let m = save(&dir, "m.onnx", &synth::qlinearconv_chain(1, 2, Initializers::Shared));
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    let victim = save(&dir, "victim.txt", b"precious");
    std::os::unix::fs::symlink(&victim, out.join("output_0.npy")).unwrap();
    ok(&run_in(&m, &x, &out, &[]));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let meta = std::fs::symlink_metadata(out.join("output_0.npy")).unwrap();
    assert!(meta.file_type().is_file());
}

#[test]
fn stale_outputs_beyond_the_model_are_reported() {
    let dir = scratch("stale");
    let x = input_npy(&dir);
    let m = save(&dir, "m.onnx", &synth::qlinearconv_chain(1, 2, Initializers::Shared));
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("output_1.npy"), b"old").unwrap();
    std::fs::write(out.join("output_7.npy"), b"old").unwrap();
    let o = run_in(&m, &x, &out, &[]);
    ok(&o);
    let e = stderr(&o);
    assert!(e.contains("warning:") && e.contains("output_1.npy, output_7.npy"), "{e}");
    assert!(e.contains("the model has 1 output(s)"), "{e}");
}

#[test]
fn a_long_chain_imports_and_compiles() {
    // Quadratic spots (name lookups, user lists, arena placement) made 4k nodes take
    // minutes; this bounds nothing by time but keeps the path exercised.
    let dir = scratch("chain");
    let x = input_npy(&dir);
    for init in [Initializers::Shared, Initializers::PerNode] {
        let m = save(&dir, "chain.onnx", &synth::qlinearconv_chain(3000, 2, init));
        ok(&run_in(&m, &x, &dir.join("o"), &["--threads", "1"]));
    }
}

mod property {
    use super::*;
    use proptest::prelude::*;

    /// Each case runs the `qnn` binary: 24 by default, `QNN_PROPTEST_CASES` (/ 8, as the
    /// cases are processes) when set.
    fn cases() -> u32 {
        std::env::var("QNN_PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .map_or(24, |n| (n / 8).max(1))
    }

    /// An option value a hostile user might type.
    fn hostile_number() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..40).prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            Just("4294967296".to_string()),
            Just("-1".to_string()),
            Just("1e3".to_string()),
            Just(String::new()),
        ]
    }

    #[derive(Debug, Clone, Copy)]
    enum Folder {
        Missing,
        Nested,
        IsAFile,
        HasStale,
        LinkedOutput,
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

        /// Any option values (threads, runs, resource limits) and output folder: exit 0, 1 or
        /// 2, never a panic or abort;
        /// on failure the folder is exactly as it was.
        #[test]
        fn run_never_aborts_and_fails_cleanly(
            threads in hostile_number(),
            repeat in hostile_number(),
            warmup in hostile_number(),
            tensor_mib in hostile_number(),
            folder in prop_oneof![
                Just(Folder::Missing), Just(Folder::Nested), Just(Folder::IsAFile),
                Just(Folder::HasStale), Just(Folder::LinkedOutput)
            ],
        ) {
            let dir = scratch("prop");
            let x = input_npy(&dir);
            let m = save(&dir, "m.onnx", &synth::qlinearconv_chain(2, 2, Initializers::Shared));
            let out = match folder {
                Folder::Missing => dir.join("out"),
                Folder::Nested => dir.join("a/b/c"),
                Folder::IsAFile => save(&dir, "file", b"x"),
                Folder::HasStale => {
                    let o = dir.join("out");
                    std::fs::create_dir(&o).unwrap();
                    std::fs::write(o.join("output_0.npy"), b"old").unwrap();
                    std::fs::write(o.join("output_3.npy"), b"old").unwrap();
                    o
                }
                Folder::LinkedOutput => {
                    let o = dir.join("out");
                    std::fs::create_dir(&o).unwrap();
                    #[cfg(unix)]
                    std::os::unix::fs::symlink(&x, o.join("output_0.npy")).unwrap();
                    o
                }
            };
            let before = listing(&out);
            let input_before = std::fs::read(&x).unwrap();
            let options = [
                format!("--threads={threads}"),
                format!("--repeat={repeat}"),
                format!("--warmup={warmup}"),
                format!("--max-tensor-mib={tensor_mib}"),
            ];
            let o = run_in(&m, &x, &out, &options.each_ref().map(String::as_str));
            let code = o.status.code();
            prop_assert!(matches!(code, Some(0..=2)), "status {:?}: {}", o.status, stderr(&o));
            prop_assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
            prop_assert_eq!(std::fs::read(&x).unwrap(), input_before, "the input was written");
            if code != Some(0) {
                prop_assert_eq!(listing(&out), before, "a failed run changed the folder");
            } else {
                prop_assert!(out.join("output_0.npy").is_file());
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
