//! Helpers of the conformance tests: fixture paths, running an imported model on the
//! reference interpreter, and exact comparison.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use qnn_ir::Tensor;
use qnn_onnx::{ImportOptions, Imported, Model};

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// Sorted subdirectories of a fixture directory.
pub fn subdirs(rel: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixture(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// Files `prefix_<k>.<ext>` of a directory, in order of `k`.
pub fn numbered(dir: &Path, prefix: &str, ext: &str) -> Vec<PathBuf> {
    (0..).map(|k| dir.join(format!("{prefix}_{k}.{ext}"))).take_while(|p| p.exists()).collect()
}

/// Where two tensors differ: `None` when equal element for element (f32 compared as
/// values, NaN equal to NaN).
pub fn difference(expected: &Tensor, got: &Tensor) -> Option<String> {
    if expected.ty() != got.ty() {
        return Some(format!("type {} expected, got {}", expected.ty(), got.ty()));
    }
    let (e, g) = (expected.to_f64_vec(), got.to_f64_vec());
    let diffs: Vec<usize> =
        (0..e.len()).filter(|&i| !(e[i] == g[i] || (e[i].is_nan() && g[i].is_nan()))).collect();
    if diffs.is_empty() {
        return None;
    }
    let max = diffs.iter().map(|&i| (e[i] - g[i]).abs()).fold(0.0, f64::max);
    let i = diffs[0];
    Some(format!(
        "{} of {} elements differ (max |diff| {max}); first at flat index {i}: expected {}, got {}",
        diffs.len(),
        e.len(),
        e[i],
        g[i]
    ))
}

/// Imports `model` and runs it on `inputs` with the reference interpreter.
pub fn run_model(
    model: &Model,
    opts: &ImportOptions,
    inputs: &[Tensor],
) -> Result<(Imported, Vec<Tensor>), String> {
    let imported = model.import(opts).map_err(|e| format!("import: {e}"))?;
    let out = qnn_ir::reference::run(&imported.graph, inputs).map_err(|e| format!("run: {e}"))?;
    Ok((imported, out))
}

/// A fixture folder `model.onnx` + `input_<k>.npy` + `output_<k>.npy`: imports the model,
/// runs it on the reference interpreter and compares every output bit for bit.
pub fn check_npy_case(dir: &Path) -> Result<(), String> {
    let model = Model::from_path(dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let inputs = numbered(dir, "input", "npy")
        .iter()
        .map(|p| qnn_npy::read(p).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let (_, got) = run_model(&model, &ImportOptions::default(), &inputs)?;
    let expected = numbered(dir, "output", "npy");
    if expected.len() != got.len() {
        return Err(format!("{} outputs expected, got {}", expected.len(), got.len()));
    }
    for (k, (p, g)) in expected.iter().zip(&got).enumerate() {
        let e = qnn_npy::read(p).map_err(|e| e.to_string())?;
        if let Some(d) = difference(&e, g) {
            return Err(format!("output {k}: {d}"));
        }
    }
    Ok(())
}

/// Outcome of one conformance item.
#[derive(Debug)]
pub struct Outcome {
    pub family: String,
    pub name: String,
    pub error: Option<String>,
}

/// Prints the per-family counts and panics with every failure.
pub fn report(title: &str, outcomes: &[Outcome]) {
    let mut families: Vec<&str> = outcomes.iter().map(|o| o.family.as_str()).collect();
    families.sort();
    families.dedup();
    println!("{title}: passed / total per family");
    for f in families {
        let all: Vec<_> = outcomes.iter().filter(|o| o.family == f).collect();
        let ok = all.iter().filter(|o| o.error.is_none()).count();
        println!("  {f:24} {ok:3} / {}", all.len());
    }
    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.error.as_ref().map(|e| format!("{}/{}: {e}", o.family, o.name)))
        .collect();
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
}
