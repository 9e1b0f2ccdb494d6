//! qnn-onnx's single-op fixture folders (`fixtures/<folder>/<case>/{model.onnx, input_k.npy,
//! output_k.npy}` with ONNX Runtime's outputs), compiled by the runtime for the host and for
//! every usable backend, at 1 and 2 threads, each output compared bit for bit.

use std::path::{Path, PathBuf};

use qnn_ir::Tensor;
use qnn_onnx::{ImportOptions, Model};
use qnn_runtime::{CompileOptions, Compiler};

/// A path under qnn-onnx's fixture folder.
pub fn fixtures(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../qnn-onnx/tests/fixtures").join(sub)
}

/// `dir/{stem}_0.npy`, `dir/{stem}_1.npy`, … while they exist.
pub fn numbered(dir: &Path, stem: &str) -> Vec<Tensor> {
    (0..)
        .map(|k| dir.join(format!("{stem}_{k}.npy")))
        .take_while(|p| p.exists())
        .map(|p| qnn_npy::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

/// Same type, shape and bits.
pub fn same_bits(want: &Tensor, got: &Tensor) -> bool {
    want.ty() == got.ty()
        && want.to_f64_vec().iter().zip(got.to_f64_vec()).all(|(a, b)| a.to_bits() == b.to_bits())
}

/// Compiles every case of `fixtures/<folder>` (at least `min_cases` of them) on every usable
/// backend and the host at 1 and 2 threads, and fails naming each case whose import, compile
/// or run fails or whose outputs differ from ONNX Runtime's.
pub fn assert_compiled_cases_equal_onnx_runtime(folder: &str, min_cases: usize) {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures(folder))
        .unwrap_or_else(|e| panic!("fixtures/{folder}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= min_cases, "{} cases in {folder}", dirs.len());
    let backends = super::usable_backends();
    let mut failures = Vec::new();
    let mut runs = 0;
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let model = Model::from_path(dir.join("model.onnx")).unwrap();
        let graph = match model.import(&ImportOptions::default()) {
            Ok(i) => i.graph,
            Err(e) => {
                failures.push(format!("{name}: import: {e}"));
                continue;
            }
        };
        let (inputs, expected) = (numbered(dir, "input"), numbered(dir, "output"));
        for backend in backends.iter().map(|b| Some(*b)).chain([None]) {
            for threads in [1, 2] {
                let opts = CompileOptions::new().backend(backend).threads(threads);
                let got = Compiler::new(opts)
                    .compile(&graph)
                    .map_err(|e| format!("compile: {e}"))
                    .and_then(|m| m.run(&inputs).map_err(|e| format!("run: {e}")));
                runs += 1;
                let on = format!("{} × {threads} threads", backend.unwrap_or("host"));
                match got {
                    Err(e) => failures.push(format!("{name} on {on}: {e}")),
                    Ok(got) => {
                        if got.len() != expected.len()
                            || !expected.iter().zip(&got).all(|(w, g)| same_bits(w, g))
                        {
                            failures.push(format!("{name} on {on}: differs from ORT"));
                        }
                    }
                }
            }
        }
    }
    println!("{} {folder} cases, {runs} compiled runs: {} failures", dirs.len(), failures.len());
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
}
