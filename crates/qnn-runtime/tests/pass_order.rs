//! The passes import one way (README "Pipeline"): `optimize` → `plan` → `program` → `exec`,
//! each module of a pass naming no later pass in its code (doc comments may point ahead).

use std::path::{Path, PathBuf};

const PASSES: [&str; 4] = ["optimize", "plan", "program", "exec"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_pass_imports_a_later_pass() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for (i, pass) in PASSES.iter().enumerate() {
        let mut files = Vec::new();
        rust_files(&src.join(pass), &mut files);
        assert!(!files.is_empty(), "src/{pass}/ holds the pass");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                for later in &PASSES[i + 1..] {
                    assert!(
                        !code.contains(&format!("crate::{later}")),
                        "{}:{}: the {pass} pass imports the later {later} pass: {line}",
                        file.display(),
                        n + 1
                    );
                }
            }
        }
    }
}
