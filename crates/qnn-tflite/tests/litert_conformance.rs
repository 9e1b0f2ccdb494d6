//! Conformance with LiteRT: every single-op fixture of `tests/fixtures/ops/` (made by the
//! TFLite converter, outputs from LiteRT 2.3's builtin kernels without a delegate; see
//! `fixtures/generate.py`) imported, run on qnn-ir's reference interpreter and compiled by the
//! runtime for every usable backend and the host, must equal LiteRT's outputs bit for bit.
//! With `Kernels::Reference` the graph must equal the reference kernels' outputs where those
//! differ (`NAME.ref_out_K.npy`).

use std::path::{Path, PathBuf};

use qnn_ir::Tensor;
use qnn_runtime::{CompileOptions, Compiler};
use qnn_tflite::{ImportOptions, Kernels, Model};

/// The number of cases `generate.py` writes: a changed set must be noticed.
const CASES: usize = 42;

fn ops_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ops")
}

fn cases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ops_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "tflite")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

/// `NAME.<stem>_K.npy` for K = 0, 1, … while they exist.
fn numbered(name: &str, stem: &str) -> Vec<Tensor> {
    (0..)
        .map(|k| ops_dir().join(format!("{name}.{stem}_{k}.npy")))
        .take_while(|p| p.exists())
        .map(|p: PathBuf| qnn_npy::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

/// The first element that differs (type, shape or bits), if any.
fn difference(want: &Tensor, got: &Tensor) -> Option<String> {
    if want.ty() != got.ty() {
        return Some(format!("type {} expected, got {}", want.ty(), got.ty()));
    }
    let (w, g) = (want.to_f64_vec(), got.to_f64_vec());
    let first = w.iter().zip(&g).position(|(a, b)| a.to_bits() != b.to_bits())?;
    let n = w.iter().zip(&g).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    Some(format!(
        "{n} of {} differ; first at {first}: {} expected, got {}",
        w.len(),
        w[first],
        g[first]
    ))
}

fn compare(what: &str, want: &[Tensor], got: &[Tensor], failures: &mut Vec<String>) {
    if want.len() != got.len() {
        failures.push(format!("{what}: {} outputs, {} expected", got.len(), want.len()));
    }
    for (k, (w, g)) in want.iter().zip(got).enumerate() {
        if let Some(d) = difference(w, g) {
            failures.push(format!("{what}: output {k}: {d}"));
        }
    }
}

fn usable_backends() -> Vec<&'static str> {
    qnn_ir::backend::registry::backends()
        .into_iter()
        .filter(|d| d.probe().is_ok())
        .map(|d| d.name)
        .collect()
}

fn model(name: &str) -> Model {
    Model::from_path(ops_dir().join(format!("{name}.tflite"))).unwrap()
}

#[test]
fn builtin_kernels_bit_exact_on_the_reference_and_every_backend() {
    let names = cases();
    assert_eq!(names.len(), CASES, "the fixture set changed: {names:?}");
    let backends = usable_backends();
    let (mut failures, mut exact) = (Vec::new(), 0);
    for name in &names {
        let before = failures.len();
        let imported = match model(name).import(&ImportOptions::default()) {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{name}: import: {e}"));
                continue;
            }
        };
        let inputs = numbered(name, "in");
        let want = numbered(name, "out");
        match qnn_ir::reference::run(&imported.graph, &inputs) {
            Ok(got) => compare(&format!("{name} on the reference"), &want, &got, &mut failures),
            Err(e) => failures.push(format!("{name} on the reference: {e}")),
        }
        for backend in backends.iter().copied().map(Some).chain([None]) {
            let on = backend.unwrap_or("host");
            let compiled = Compiler::new(CompileOptions::new().backend(backend).threads(2))
                .compile(&imported.graph);
            match compiled
                .map_err(|e| e.to_string())
                .and_then(|m| m.run(&inputs).map_err(|e| e.to_string()))
            {
                Ok(got) => compare(&format!("{name} on {on}"), &want, &got, &mut failures),
                Err(e) => failures.push(format!("{name} on {on}: {e}")),
            }
        }
        exact += usize::from(failures.len() == before);
    }
    println!(
        "LiteRT builtin kernels: {exact}/{} cases exact on the reference, {} + host",
        names.len(),
        backends.join(", ")
    );
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn reference_kernels_bit_exact_where_they_differ() {
    let opts = ImportOptions { kernels: Kernels::Reference, ..ImportOptions::default() };
    let mut failures = Vec::new();
    let mut checked = 0;
    for name in cases() {
        let want = numbered(&name, "ref_out");
        let want = if want.is_empty() { numbered(&name, "out") } else { want };
        let graph = model(&name).import(&opts).unwrap().graph;
        match qnn_ir::reference::run(&graph, &numbered(&name, "in")) {
            Ok(got) => compare(&name, &want, &got, &mut failures),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
        checked += 1;
    }
    assert_eq!(checked, CASES);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn fixtures_are_tflite_by_content() {
    for name in cases() {
        let bytes = std::fs::read(ops_dir().join(format!("{name}.tflite"))).unwrap();
        assert!(qnn_tflite::is_tflite(&bytes), "{name}");
    }
    let onnx = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    assert!(!qnn_tflite::is_tflite(&std::fs::read(onnx).unwrap()));
}
