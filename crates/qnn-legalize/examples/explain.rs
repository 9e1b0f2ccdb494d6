//! Prints the legalization of a small conv network (conv, depthwise, pointwise with
//! per-channel zero points, dense) for three targets — `cortex-a53` (no dotprod),
//! `neoverse-n1` (dotprod) and the host — with the cost model, as a table (or JSON with
//! `--json`).
//!
//! ```text
//! cargo run -p qnn-legalize --example explain [-- --json] [-- --capability] [-- TARGET…]
//! ```
//!
//! This crate cannot depend on the backend crates, so this example registers the test
//! descriptors of `tests/common/descriptors.rs`, which are shaped like them. The same
//! explanation with the real descriptors (every in-tree backend linked):
//! `cargo run -p qnn-runtime --example explain`.

#[path = "../tests/common/descriptors.rs"]
mod descriptors;
#[path = "../tests/common/net.rs"]
mod net;

use qnn_legalize::{Capability, CostModel, LoweringPolicy, Target, legalize};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let policy: Box<dyn LoweringPolicy> = if args.iter().any(|a| a == "--capability") {
        Box::new(Capability)
    } else {
        Box::new(CostModel::new())
    };
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
    let graph = net::small_net();
    for name in targets {
        let target: Target = name.parse()?;
        let l = legalize(&graph, &target, policy.as_ref())?;
        if json {
            println!("{}", l.explanation.to_json());
        } else {
            println!("{}", l.explanation);
        }
    }
    Ok(())
}
