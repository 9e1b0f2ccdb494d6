//! The compiled model (fused, NHWC, planned, on every usable backend forced in turn, with
//! 1, 2 and 3 threads) against the reference interpretation of the original QNN graph, bit
//! for bit, over random graphs.

mod common;

use common::random_graph::{build, net};
use common::{config, usable_backends};
use proptest::prelude::*;
use qnn_ir::reference;
use qnn_legalize::Lowering;
use qnn_runtime::{CompileOptions, Compiler, RuntimeError};

/// Compiles `g` for `backend` (and `lowering`) with 1, 2 and 3 threads and checks every
/// run against `want`. A graph the legalizer refuses is skipped (`Ok(false)`).
fn check(
    g: &qnn_ir::Graph,
    x: &qnn_ir::Tensor,
    want: &Result<Vec<qnn_ir::Tensor>, qnn_ir::IrError>,
    backend: &str,
    lowering: Option<Lowering>,
) -> Result<bool, TestCaseError> {
    for threads in [1, 2, 3] {
        let opts = CompileOptions::new().backend(Some(backend)).lowering(lowering).threads(threads);
        let m = match Compiler::new(opts).compile(g) {
            Ok(m) => m,
            Err(RuntimeError::Legalize(_)) => return Ok(false),
            Err(e) => return Err(TestCaseError::fail(format!("{backend}: compile: {e}"))),
        };
        // Layout conversions only at the edges of the NHWC region, not around each op: at
        // most one per reader of the graph input, one before each flatten (dense) and one at
        // the output.
        let r = m.report();
        let conversions =
            r.steps.iter().filter(|s| s.op == "transpose" || s.note.contains("transposed")).count();
        let flattens =
            g.nodes.iter().filter(|n| matches!(n.op, qnn_ir::Op::Reshape { .. })).count();
        let input_readers = g.users()[g.inputs[0].index()].len();
        prop_assert!(
            conversions <= input_readers + flattens + 1,
            "{} conversions\n{}",
            conversions,
            r
        );
        let got = m.run(std::slice::from_ref(x));
        match (want, got) {
            (Ok(w), Ok(o)) => prop_assert_eq!(
                w,
                &o,
                "{} {:?} threads {}\n{}",
                backend,
                lowering,
                threads,
                m.report()
            ),
            (Err(_), Err(_)) => {}
            (w, o) => prop_assert!(
                false,
                "{} threads {}: reference {:?}, compiled {:?}\n{}",
                backend,
                threads,
                w.as_ref().err(),
                o.err(),
                m.report()
            ),
        }
    }
    Ok(true)
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn compiled_equals_reference(n in net(), forced in prop::sample::select(vec![0u8, 1, 2])) {
        let (g, x) = build(&n);
        let want = reference::run(&g, std::slice::from_ref(&x));
        let lowering = match forced {
            1 => Some(Lowering::Int8ZeroPointTerms),
            2 => Some(Lowering::Int16Upcast),
            _ => None,
        };
        for backend in usable_backends() {
            check(&g, &x, &want, backend, lowering)?;
        }
    }
}
