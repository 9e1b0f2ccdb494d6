//! This crate's `qnn` binary (src/bin/qnn.rs: qnn's command with this backend linked), run as
//! a user runs it: `qnn targets` lists the backend and its CPUs, and `qnn run --backend
//! x86-sse41` runs qnn's fixture models on it, bit-exact with ONNX Runtime's outputs.

#![cfg(target_arch = "x86_64")]

use std::path::PathBuf;
use std::process::{Command, Output};

/// qnn-onnx's fixture models (ONNX Runtime's outputs stored next to them).
fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../crates/qnn-onnx/tests/fixtures/models")
}

fn qnn(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_qnn"))
        .args(args)
        .env_remove("QNN_BACKEND")
        .output()
        .expect("the qnn binary runs");
    assert!(
        o.status.success(),
        "qnn {} failed:\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn usable_here() -> bool {
    match backend_x86_sse41::descriptor::probe() {
        Ok(()) => true,
        Err(why) => {
            eprintln!("SKIPPED: x86-sse41 is not usable on this CPU ({why})");
            false
        }
    }
}

#[test]
fn targets_lists_the_backend_and_its_cpus() {
    let out = String::from_utf8(qnn(&["targets"]).stdout).unwrap();
    let row = out.lines().find(|l| l.trim_start().starts_with("x86-sse41")).expect(&out);
    assert!(row.contains("x86_64") && row.contains("yes"), "{row}");
    let x86 = out.lines().find(|l| l.trim_start().starts_with("x86_64-unknown")).expect(&out);
    assert!(x86.contains("westmere") && x86.contains("silvermont"), "{x86}");
}

#[test]
fn run_on_this_backend_equals_onnx_runtime() {
    if !usable_here() {
        return;
    }
    for model in ["resnet_qop_pc", "resnet_qdq_pt", "mobilenetv2_qop_pc"] {
        let net = model.split('_').next().unwrap();
        let dir = std::env::temp_dir().join(format!("sse41-{}-{model}", std::process::id()));
        let m = models().join(format!("{model}.onnx"));
        let input = models().join(format!("{net}_input.npy"));
        let o = qnn(&[
            "run",
            m.to_str().unwrap(),
            "-i",
            input.to_str().unwrap(),
            "-o",
            dir.to_str().unwrap(),
            "--backend",
            "x86-sse41",
            "--report",
        ]);
        let report =
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        assert!(
            report.contains("sse41_gemm_"),
            "{model}: no x86-sse41 kernel in the plan:\n{report}"
        );
        let got = qnn_npy::read(dir.join("output_0.npy")).unwrap();
        let want = qnn_npy::read(models().join(format!("{model}_output.npy"))).unwrap();
        assert!(got == want, "{model}: output differs from ONNX Runtime's");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
