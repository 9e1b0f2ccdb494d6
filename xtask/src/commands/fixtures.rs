//! `cargo xtask fixtures [--peers DIR] [--only STEPS] [--python PATH]`: regenerates or checks
//! qnn-onnx's conformance fixtures (`crates/qnn-onnx/tests/fixtures/regenerate.py`) with the
//! ONNX Runtime and onnx versions that produced them. The fixture README lists the steps.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Result, bail};

use crate::cli::FixturesArgs;
use crate::steps::{self, Cmd, Step};

/// The script, relative to the workspace root.
pub const SCRIPT: &str = "crates/qnn-onnx/tests/fixtures/regenerate.py";

/// The Python packages the stored data came from.
pub const PACKAGES: &str = "numpy==2.4.6 onnx==1.23.2 onnxruntime==1.32.0";

/// The venv the peers' `setup.sh` makes.
fn peers_venv() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    Some(Path::new(&home).join(".cache/qnn-peers/venv/bin/python"))
}

/// `--python`, else `$QNN_PYTHON`, else the peers' venv when it exists, else `python3`.
pub fn python(args: &FixturesArgs) -> String {
    args.python
        .clone()
        .or_else(|| std::env::var("QNN_PYTHON").ok().filter(|s| !s.is_empty()))
        .or_else(|| peers_venv().filter(|p| p.exists()).map(|p| p.display().to_string()))
        .unwrap_or_else(|| "python3".into())
}

/// The one step: the script with the options passed through.
pub fn plan(args: &FixturesArgs, python: &str) -> Vec<Step> {
    let mut cmd = Cmd::new(python).arg(SCRIPT);
    if let Some(p) = &args.peers {
        cmd = cmd.args(["--peers", p.as_str()]);
    }
    if let Some(o) = &args.only {
        cmd = cmd.args(["--only", o.as_str()]);
    }
    vec![Step::run("regenerate / check the qnn-onnx fixtures", cmd)]
}

pub fn run(args: &FixturesArgs) -> Result<bool> {
    let py = python(args);
    let ok = Command::new(&py)
        .args(["-c", "import numpy, onnx, onnxruntime"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        bail!(
            "`{py}` cannot import numpy, onnx and onnxruntime. Make a venv with the versions the \
             fixtures came from:\n    python3 -m venv ~/.cache/qnn-peers/venv\n    \
             ~/.cache/qnn-peers/venv/bin/pip install {PACKAGES}\nor pass --python PATH \
             (or set QNN_PYTHON)."
        );
    }
    let records = steps::run_all("cargo xtask fixtures", &plan(args, &py));
    Ok(steps::all_passed(&records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::Action;

    #[test]
    fn passes_the_options_to_the_script() {
        let args = FixturesArgs {
            peers: Some("../shared/peers".into()),
            only: Some("copy,check".into()),
            python: Some("/venv/bin/python".into()),
        };
        assert_eq!(python(&args), "/venv/bin/python");
        let Action::Run(c) = &plan(&args, "/venv/bin/python")[0].action else { panic!() };
        assert_eq!(
            c.to_string(),
            "/venv/bin/python crates/qnn-onnx/tests/fixtures/regenerate.py \
             --peers ../shared/peers --only copy,check"
        );
    }
}
