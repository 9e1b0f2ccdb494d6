//! Writes the seed corpus of the `ir_text` target, `fuzz/seeds/ir_text/*.qnn`: every fixture
//! model of the importer printed as imported (QNN dialect) and legalized for the host with
//! each lowering forced (core ops), plus the golden files of qnn-ir's text tests.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example make_seeds
//! ```

use std::fs;
use std::path::Path;

use backend_x86_avx2 as _;
use backend_x86_vnni as _;
use qnn_legalize::{CostModel, Forced, Lowering, Target, legalize};
use qnn_onnx::{ImportOptions, Model};

/// Seeds above this size slow the fuzzer down more than they teach it.
const MAX_SEED_BYTES: usize = 2500;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("seeds/ir_text");
    fs::create_dir_all(&out)?;
    let mut written = 0;
    let mut write = |name: &str, text: &str| -> std::io::Result<()> {
        if text.len() <= MAX_SEED_BYTES {
            fs::write(out.join(format!("{name}.qnn")), text)?;
            written += 1;
        }
        Ok(())
    };
    for golden in fs::read_dir(root.join("../crates/qnn-ir/tests/golden"))? {
        let p = golden?.path();
        let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("golden").to_string();
        write(&format!("golden_{name}"), &fs::read_to_string(&p)?)?;
    }
    let host = Target::host();
    let fixtures = root.join("../crates/qnn-onnx/tests/fixtures");
    for (name, _) in qnn_fuzz::onnx_seeds::SEEDS {
        let model = Model::from_path(fixtures.join(name))?;
        let Ok(imported) = model.import(&ImportOptions::default()) else { continue };
        let stem = name.trim_end_matches("/model.onnx").replace('/', "_");
        write(&stem, &qnn_ir::text::print(&imported.graph))?;
        for (tag, lowering) in
            [("int8", Lowering::Int8ZeroPointTerms), ("int16", Lowering::Int16Upcast)]
        {
            let policy = Forced::new(CostModel::new()).all(lowering);
            if let Ok(l) = legalize(&imported.graph, &host, &policy) {
                write(&format!("{stem}_{tag}"), &qnn_ir::text::print(&l.graph))?;
            }
        }
    }
    println!("{written} seeds in {}", out.display());
    Ok(())
}
