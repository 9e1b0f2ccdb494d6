//! `cargo xtask gpu-check [--out DIR]`: builds the CUDA test and bench binaries here
//! (x86-64, release, symbols stripped) into one folder with a `run.sh`, to be carried to a
//! machine with an NVIDIA GPU and run there once:
//!
//! ```text
//! cargo xtask gpu-check                 # → target/gpu-check/{run.sh, bin/*, README.txt}
//! (on the GPU machine) target/gpu-check/run.sh [RESULTS_DIR]
//! ```
//!
//! The binaries: the `backend-cuda-dp4a` tests and layer benchmark, and the `qnn-runtime`
//! test that compiles whole models for `cuda` (its fixtures embedded). The script needs no
//! network and no compiler (the kernels are compiled by the machine's NVRTC at run time),
//! sets `QNN_REQUIRE_CUDA=1` (a skipped GPU test fails), runs each binary under a time limit
//! (8 minutes in all at most; under a minute on an H200), prints bit-exactness and the
//! layer suite's GMAC/s against a dp4a peak micro-benchmark, and writes everything to
//! `RESULTS_DIR` (default: `results/` beside it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::steps::Cmd;

/// The CUDA backend crate: all its test and bench binaries are built.
pub const PACKAGE: &str = "backend-cuda-dp4a";

/// The runtime crate and its GPU test binary (whole models compiled for `cuda`).
pub const RUNTIME_PACKAGE: &str = "qnn-runtime";
pub const RUNTIME_TEST: &str = "cuda_models";

/// The binaries, in the order `run.sh` runs them: package, target name, time limit in
/// seconds, arguments.
pub const BINARIES: &[(&str, &str, u32, &str)] = &[
    (PACKAGE, "registry", 60, "--nocapture"),
    (PACKAGE, "nvrtc_compile", 60, "--nocapture"),
    (PACKAGE, "cuda_plan", 30, ""),
    (PACKAGE, "conformance", 120, "--test-threads=8"),
    (PACKAGE, "gpu_layers", 120, ""),
    (RUNTIME_PACKAGE, RUNTIME_TEST, 90, "--test-threads=4 --nocapture"),
];

/// The sum of the time limits may not exceed this (seconds): the whole check in 8 minutes.
pub const TOTAL_LIMIT_S: u32 = 480;

/// Where the folder goes unless `--out` says otherwise.
pub const DEFAULT_OUT: &str = "target/gpu-check";

const USAGE: &str = "usage: cargo xtask gpu-check [--out DIR]\n\nBuilds the backend-cuda-dp4a test and bench binaries and the qnn-runtime cuda_models test (x86-64, release) into DIR (default target/gpu-check) with run.sh, for one run on a machine with an NVIDIA GPU.";

/// Parses `[--out DIR]`.
pub fn parse(args: &[String]) -> Result<PathBuf> {
    let mut out = PathBuf::from(DEFAULT_OUT);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.split_once('=') {
            Some(("--out", v)) if !v.is_empty() => out = PathBuf::from(v),
            _ if a == "--out" => match it.next() {
                Some(v) if !v.starts_with("--") => out = PathBuf::from(v),
                _ => bail!("`--out` needs a folder\n\n{USAGE}"),
            },
            _ if a == "-h" || a == "--help" => bail!("{USAGE}"),
            _ => bail!("unknown argument `{a}` of `cargo xtask gpu-check`\n\n{USAGE}"),
        }
    }
    Ok(out)
}

/// The builds: every test and bench target of [`PACKAGE`], and [`RUNTIME_TEST`] of
/// [`RUNTIME_PACKAGE`]; release, stripped (the folder must be small enough to carry), with
/// cargo's JSON messages on stdout.
pub fn build_cmds() -> Vec<Cmd> {
    let targets: [&[&str]; 2] = [
        &["-p", PACKAGE, "--tests", "--benches"],
        &["-p", RUNTIME_PACKAGE, "--test", RUNTIME_TEST],
    ];
    targets
        .iter()
        .map(|t| {
            let mut c = Cmd::new("cargo")
                .args(["test", "--release", "--no-run"])
                .args(t.iter().copied())
                .arg("--message-format=json-render-diagnostics");
            // `cargo test --release` builds with the bench profile, which inherits release.
            for profile in ["RELEASE", "BENCH"] {
                c = c
                    .env(format!("CARGO_PROFILE_{profile}_DEBUG"), "false")
                    .env(format!("CARGO_PROFILE_{profile}_STRIP"), "symbols");
            }
            c
        })
        .collect()
}

/// `(package, target name, executable)` of a `compiler-artifact` message with an
/// executable, from one line of cargo's JSON output.
pub fn artifact(line: &str) -> Option<(String, String, String)> {
    if !line.contains("\"reason\":\"compiler-artifact\"") {
        return None;
    }
    let field = |text: &str, key: &str| -> Option<String> {
        let start = text.find(&format!("\"{key}\":\""))? + key.len() + 4;
        let end = text[start..].find('"')?;
        Some(text[start..start + end].to_string())
    };
    // `path+file:///r/crates/NAME#0.1.0`, or `…/DIR#NAME@0.1.0` when they differ.
    let id = field(line, "package_id")?;
    let (path, version) = id.rsplit_once('#')?;
    let package = match version.split_once('@') {
        Some((name, _)) => name.to_string(),
        None => path.rsplit('/').next()?.to_string(),
    };
    let target = &line[line.find("\"target\":{")?..];
    Some((package, field(target, "name")?, field(line, "executable")?))
}

/// The script that runs the binaries on the GPU machine.
pub fn run_script() -> String {
    let mut steps = String::new();
    for (_, name, limit, args) in BINARIES {
        steps += &format!("step {name} {limit} \"$here/bin/{name}\" {args}\n");
    }
    format!(
        r#"#!/usr/bin/env bash
# qnn GPU check (built by `cargo xtask gpu-check`): backend-cuda-dp4a and whole models
# through qnn-runtime on an NVIDIA GPU.
#   ./run.sh [RESULTS_DIR]        (default: results/ beside this script)
# Needs an NVIDIA driver (libcuda.so.1) and NVRTC 12.x or 13.x (found on the loader path,
# under /usr/local/cuda*, or QNN_CUDA_NVRTC=/path/to/libnvrtc.so.13 or its folder). No
# network, no compiler. QNN_REQUIRE_CUDA=1: a skipped GPU test is a failure. Everything
# printed is also written to RESULTS_DIR (one log per step, summary.txt, gpu_layers.*).
# Each step runs under a time limit, {TOTAL_LIMIT_S} s in all at most.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
out="${{1:-$here/results}}"
mkdir -p "$out"
export QNN_REQUIRE_CUDA=1 QNN_BENCH_OUT="$out" RUST_BACKTRACE=1
status=0
: > "$out/summary.txt"
step() {{
  local name="$1" limit="$2"; shift 2
  echo "=== $name"
  local start; start=$(date +%s)
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  tail -n 60 "$out/$name.log"
  local verdict="PASS"
  if [ "$rc" -eq 124 ]; then verdict="FAIL (timed out after ${{limit}}s)"; status=1
  elif [ "$rc" -ne 0 ]; then verdict="FAIL (exit $rc)"; status=1; fi
  echo "--- $name: $verdict in $(( $(date +%s) - start ))s" | tee -a "$out/summary.txt"
}}
{{ date; uname -a; nvidia-smi 2>&1 || echo "nvidia-smi: not found"; ls -d /usr/local/cuda*/ 2>&1; }} > "$out/machine.txt" 2>&1
head -n 20 "$out/machine.txt"
{steps}echo
echo "=== summary"
cat "$out/summary.txt"
if [ -f "$out/gpu_layers.txt" ]; then echo; cat "$out/gpu_layers.txt"; fi
if [ "$status" -eq 0 ]; then echo "GPU CHECK PASSED"; else echo "GPU CHECK FAILED"; fi
exit $status
"#
    )
}

const README: &str = "\
qnn GPU check (built by `cargo xtask gpu-check`): backend-cuda-dp4a, and qnn-runtime with it.

Run on a Linux x86-64 machine with an NVIDIA GPU (sm_61 or newer), its driver and NVRTC
12.x/13.x (the CUDA toolkit's lib64, or QNN_CUDA_NVRTC=path):

    ./run.sh [RESULTS_DIR]

bin/registry       descriptor, probe (must find the GPU), device kernels
bin/nvrtc_compile  the kernels compile for sm_61 (if this NVRTC targets it) and sm_90
bin/cuda_plan      the legalizer's cuda plan is int8 s8×s8
bin/conformance    the shared conformance cases on the GPU, bit for bit vs the reference
bin/gpu_layers     dp4a peak micro-benchmark, then the layer suite: bit-exactness, GMAC/s,
                   fraction of the peak (also gpu_layers.txt / gpu_layers.json)
bin/cuda_models    qnn-runtime: peer models (ResNet-, MobileNetV2-style) compiled for `cuda`
                   equal ONNX Runtime bit for bit; random graphs equal the reference;
                   concurrent runs; the cuda plan and report
";

fn copy_executable(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Builds and assembles the folder; true on success.
pub fn run(args: &[String]) -> Result<bool> {
    let out = parse(args)?;
    let mut found: Vec<(String, String, String)> = Vec::new();
    for cmd in build_cmds() {
        println!("==> {cmd}");
        let mut c = Command::new(&cmd.program);
        c.args(&cmd.args).stdout(Stdio::piped()).stderr(Stdio::inherit());
        for (k, v) in &cmd.env {
            c.env(k, v);
        }
        let output = c.output().context("could not start cargo")?;
        if !output.status.success() {
            bail!("`{cmd}` failed ({})", output.status);
        }
        found.extend(String::from_utf8_lossy(&output.stdout).lines().filter_map(artifact));
    }
    let bin = out.join("bin");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot empty {}", out.display()))?;
    }
    std::fs::create_dir_all(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
    let mut bytes = 0;
    for (package, name, _, _) in BINARIES {
        let Some((_, _, exe)) = found.iter().find(|(p, n, _)| p == package && n == name) else {
            bail!("cargo built no `{name}` binary of {package}");
        };
        let to = bin.join(name);
        copy_executable(Path::new(exe), &to)?;
        bytes += std::fs::metadata(&to)?.len();
    }
    let script = out.join("run.sh");
    std::fs::write(&script, run_script())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::write(out.join("README.txt"), README)?;
    println!(
        "\nGPU check ready: {} ({} binaries, {:.1} MiB).\nOn a machine with an NVIDIA GPU: {}/run.sh [RESULTS_DIR]",
        out.display(),
        BINARIES.len(),
        bytes as f64 / (1024.0 * 1024.0),
        out.display()
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert_eq!(parse(&[]).unwrap(), PathBuf::from(DEFAULT_OUT));
        assert_eq!(parse(&["--out".into(), "x/y".into()]).unwrap(), PathBuf::from("x/y"));
        assert_eq!(parse(&["--out=z".into()]).unwrap(), PathBuf::from("z"));
        assert!(parse(&["--out".into()]).is_err());
        assert!(parse(&["--frob".into()]).unwrap_err().to_string().contains("usage"));
    }

    #[test]
    fn builds_are_release_and_stripped() {
        let cmds = build_cmds();
        assert_eq!(cmds.len(), 2);
        for c in &cmds {
            assert!(c.args.iter().any(|a| a == "--release"));
            assert!(c.args.iter().any(|a| a == "--no-run"));
            assert_eq!(c.env_value("CARGO_PROFILE_BENCH_STRIP"), Some("symbols"));
        }
        let runtime = cmds[1].to_string();
        assert!(runtime.contains("-p qnn-runtime --test cuda_models"), "{runtime}");
    }

    #[test]
    fn artifacts_from_cargo_json() {
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///r/crates/backend-cuda-dp4a#0.1.0","target":{"kind":["test"],"crate_types":["bin"],"name":"conformance","src_path":"/r/t.rs"},"profile":{},"executable":"/r/target/release/deps/conformance-abc","fresh":true}"#;
        let want = |p: &str| {
            Some((p.into(), "conformance".into(), "/r/target/release/deps/conformance-abc".into()))
        };
        assert_eq!(artifact(line), want("backend-cuda-dp4a"));
        assert_eq!(artifact(&line.replace("backend-cuda-dp4a", "qnn-ir")), want("qnn-ir"));
        let renamed = line.replace("backend-cuda-dp4a#0.1.0", "dir#qnn-runtime@0.1.0");
        assert_eq!(artifact(&renamed), want("qnn-runtime"));
        assert_eq!(artifact(r#"{"reason":"build-finished","success":true}"#), None);
    }

    #[test]
    fn the_script_runs_every_binary_with_a_time_limit() {
        let s = run_script();
        assert!(s.starts_with("#!/usr/bin/env bash"));
        assert!(s.contains("QNN_REQUIRE_CUDA=1"));
        for (_, name, limit, _) in BINARIES {
            assert!(s.contains(&format!("step {name} {limit} \"$here/bin/{name}\"")), "{name}");
        }
        assert!(BINARIES.iter().any(|b| (b.0, b.1) == (RUNTIME_PACKAGE, RUNTIME_TEST)));
        let total: u32 = BINARIES.iter().map(|b| b.2).sum();
        assert!(total <= TOTAL_LIMIT_S, "the whole run must fit 8 minutes: {total} s");
    }
}
