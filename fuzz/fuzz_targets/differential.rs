//! Differential target: a random quantized conv/dense graph built from the fuzzer's bytes
//! (`qnn_fuzz::diff_graph`) is compiled by the runtime for every usable backend (forced in
//! turn, the portable one included) with each lowering (the policy's choice, int8 + zero-point
//! terms, int16 upcast) and run; every output must equal `qnn_ir::reference::run` on the QNN
//! graph bit for bit, and an error of the reference (an overflow) must be an error of the
//! compiled model. A forced lowering the legalizer cannot prove safe is a refusal, not a bug.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use qnn_fuzz::diff_graph;
use qnn_fuzz::graph_check::reference_cost;
use qnn_ir::backend::registry;
use qnn_ir::reference;
use qnn_legalize::Lowering;
use qnn_runtime::{CompileOptions, Compiler, RuntimeError};

/// Reference work per input, below the other targets' bound: each input is compiled and run
/// nine times or more, and the reference computes in i64 through ndarray.
const MAX_COST: u64 = 1 << 18;

const LOWERINGS: [Option<Lowering>; 3] =
    [None, Some(Lowering::Int8ZeroPointTerms), Some(Lowering::Int16Upcast)];

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((g, x)) = diff_graph::graph(&mut u) else { return };
    if reference_cost(&g).is_none_or(|c| c > MAX_COST) {
        return;
    }
    let threads = if u.arbitrary().unwrap_or(false) { 2 } else { 1 };
    let inputs = [x];
    let want = reference::run(&g, &inputs);
    let backends: Vec<&str> =
        registry::backends().into_iter().filter(|d| d.probe().is_ok()).map(|d| d.name).collect();
    for backend in backends {
        for lowering in LOWERINGS {
            let opts =
                CompileOptions::new().backend(Some(backend)).lowering(lowering).threads(threads);
            let model = match Compiler::new(opts).compile(&g) {
                Ok(m) => m,
                Err(RuntimeError::Legalize(_)) => continue,
                Err(e) => panic!(
                    "{backend} {lowering:?}: compile failed: {e}\n{}",
                    qnn_ir::text::print(&g)
                ),
            };
            let got = model.run(&inputs);
            match (&want, &got) {
                (Ok(w), Ok(o)) if w == o => {}
                (Err(_), Err(_)) => {}
                _ => panic!(
                    "{backend} {lowering:?} ({threads} threads): reference {want:?}\ncompiled {got:?}\n{}\n{}",
                    model.report(),
                    qnn_ir::text::print(&g)
                ),
            }
        }
    }
});
