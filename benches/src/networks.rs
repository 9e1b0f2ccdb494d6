//! The network benchmark (`cargo xtask bench --networks`) from a bench target: full-size
//! networks (`networks/generate.py`, generated on first use) run by a given `qnn` binary,
//! ONNX Runtime and OpenVINO alternating (`networks/bench_networks.py`).
//!
//! A third party's bench target times its own `qnn` (qnn's command with its backend linked)
//! with
//!
//! ```ignore
//! fn main() -> anyhow::Result<()> {
//!     qnn_benches::networks::main(env!("CARGO_BIN_EXE_qnn"))
//! }
//! ```
//!
//! Arguments after the bench's own (`cargo bench --bench networks -- --nets resnet50 …`)
//! are passed to `bench_networks.py`; results go to `target/qnn-bench/networks/` of qnn's
//! workspace unless `--out` says otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// qnn's `benches/` folder (the scripts).
fn benches_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python(script: &Path, args: &[String]) -> anyhow::Result<()> {
    eprintln!("$ python3 {} {}", script.display(), args.join(" "));
    let status = Command::new("python3")
        .arg(script)
        .args(args)
        .status()
        .with_context(|| format!("could not run python3 {}", script.display()))?;
    if !status.success() {
        bail!("{} failed ({status})", script.display());
    }
    Ok(())
}

/// Generates the networks if needed, then times `qnn` against the peers. The process's
/// arguments (except `--bench`, which cargo adds) go to `bench_networks.py`.
pub fn main(qnn: impl AsRef<Path>) -> anyhow::Result<()> {
    let dir = benches_dir().join("networks");
    python(&dir.join("generate.py"), &[])?;
    let mut args = vec!["--qnn".to_string(), qnn.as_ref().display().to_string()];
    let user: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if !user.iter().any(|a| a == "--out") {
        let out = benches_dir().join("../target/qnn-bench/networks");
        args.extend(["--out".to_string(), out.display().to_string()]);
    }
    args.extend(user);
    python(&dir.join("bench_networks.py"), &args)
}
