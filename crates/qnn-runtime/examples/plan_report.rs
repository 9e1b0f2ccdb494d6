//! Compiles a small quantized conv net and prints its plan: per step, what it computes, the
//! kernel and backend that run it (or "fast" / "reference" and why), what each fused op
//! absorbed; then checks one run against the reference interpreter.
//!
//! ```sh
//! cargo run -p qnn-runtime --example plan_report                 # host backends
//! QNN_BACKEND=x86-avx2 cargo run -p qnn-runtime --example plan_report
//! cargo run -p qnn-runtime --example plan_report -- --json       # the report as JSON
//! cargo run -p qnn-runtime --example plan_report -- --explain    # and the legalizer's table
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use qnn_runtime::{CompileOptions, Compiler};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let g = common::nets::small_convnet();
    let model = Compiler::new(CompileOptions::default()).compile(&g)?;
    let report = model.report();
    if args.iter().any(|a| a == "--json") {
        println!("{}", report.to_json());
    } else {
        println!("{report}");
        if let (true, Some(e)) = (args.iter().any(|a| a == "--explain"), &report.legalization) {
            println!("{e}");
        }
    }
    let x = [common::nets::small_convnet_input(1)];
    let out = model.run(&x)?;
    let ok = out == qnn_ir::reference::run(&g, &x)?;
    eprintln!("one run: {} the reference", if ok { "equals" } else { "DIFFERS FROM" });
    if ok { Ok(()) } else { Err("the compiled model differs from the reference".into()) }
}
