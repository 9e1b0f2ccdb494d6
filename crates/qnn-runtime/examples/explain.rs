//! Prints the legalizer's explanation for one small conv network (conv 3×3 s2, depthwise with
//! u8 weights at zero point 128, pointwise with per-channel weight zero points, dense) on
//! three targets — `cortex-a53` (NEON, no dotprod), `neoverse-n1` (dotprod) and the host —
//! with the real backend descriptors the runtime links (arm-neon, arm-dotprod, x86-avx2,
//! x86-vnni, cuda-dp4a, portable) and the cost model: per op the lowering, backend, operand
//! dtypes, the cost estimates of every candidate and the range facts behind them.
//!
//! ```text
//! cargo run -p qnn-runtime --example explain [-- --json] [-- --capability] [-- --plan] [-- TARGET…]
//! ```
//!
//! `--capability`: TVM's rule instead of the cost model; `--json`: the explanations as
//! JSON; `--plan`: also the runtime's plan for each target (`Compiler::plan`: kernels, what
//! was fused, what runs where; kernels of another architecture are not in this binary, so a
//! foreign target's plan shows the portable fallbacks that would run here). TARGET is
//! `host`, `cuda`, or `TRIPLE[:CPU | :+FEATURE,…]`.

#[path = "../tests/common/mod.rs"]
mod common;

use qnn_legalize::{Capability, CostModel, LoweringPolicy, Target, legalize};
use qnn_runtime::{CompileOptions, Compiler};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let capability = flag("--capability");
    let policy: Box<dyn LoweringPolicy> =
        if capability { Box::new(Capability) } else { Box::new(CostModel::new()) };
    let mut targets: Vec<String> = args.iter().filter(|a| !a.starts_with("--")).cloned().collect();
    if targets.is_empty() {
        targets = [
            "aarch64-unknown-linux-gnu:cortex-a53",
            "aarch64-unknown-linux-gnu:neoverse-n1",
            "host",
        ]
        .map(String::from)
        .to_vec();
    }
    println!("registered backends: {}", qnn_runtime::registered_backends().join(", "));
    let graph = common::nets::small_convnet();
    for name in targets {
        let target: Target = name.parse()?;
        let l = legalize(&graph, &target, policy.as_ref())?;
        if flag("--json") {
            println!("{}", l.explanation.to_json());
        } else {
            println!("\n{}", l.explanation);
        }
        if flag("--plan") {
            let mut opts = CompileOptions::new().target(target).backend(None);
            if capability {
                opts = opts.policy(Capability);
            }
            println!("{}", Compiler::new(opts).plan(&graph)?);
        }
    }
    Ok(())
}
