//! The legalizer's decision table re-run with the real backend descriptors this runtime
//! links (every in-tree backend: the Arm and CUDA descriptors register on every host, the
//! x86 ones on x86-64), for every named target and the host, under both policies. Each
//! row is checked on the legalized graph's structure — the operand dtypes of each core
//! conv/dense, the lowering and T3 of its canonical fused form — and on the backend the
//! explanation names; never on printed text. Every legalized graph is also exact.
//!
//! The small conv net's four ops: conv1 (3×3 s2, 3→8, s8 per-channel symmetric weights),
//! dw (depthwise 3×3, u8 weights with zero point 128), pw (1×1, s8 weights with per-channel
//! zero points −3..3: T3 under int8), fc (dense 8→10, s8 symmetric). A change of a
//! backend's descriptor figures changes this table: update it deliberately.

mod common;

use common::nets::{small_convnet, small_convnet_input};
use qnn_ir::{DType, Op, reference};
use qnn_legalize::match_fused_conv;
use qnn_legalize::{Capability, CostModel, Lowering, LoweringPolicy, Target, legalize};

/// One op's decision as the lowered graph shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decision {
    lowering: Lowering,
    backend: &'static str,
    operands: (DType, DType),
    t3: bool,
}

const fn d(lowering: Lowering, backend: &'static str, o: (DType, DType), t3: bool) -> Decision {
    Decision { lowering, backend, operands: o, t3 }
}

const I16: (DType, DType) = (DType::I16, DType::I16);
const U8S8: (DType, DType) = (DType::U8, DType::I8);
const S8S8: (DType, DType) = (DType::I8, DType::I8);
const U8U8: (DType, DType) = (DType::U8, DType::U8);
use Lowering::{Int8ZeroPointTerms as INT8, Int16Upcast as INT16};

/// Legalizes the net for `target` with `policy`, checks it exact, and reads each core
/// conv/dense's decision off the graph (in graph order: conv1, dw, pw, fc).
fn decide(target: &Target, policy: &dyn LoweringPolicy) -> Vec<Decision> {
    let g = small_convnet();
    let l = legalize(&g, target, policy).unwrap_or_else(|e| panic!("{target}: {e}"));
    let x = [small_convnet_input(3)];
    assert_eq!(reference::run(&l.graph, &x).unwrap(), reference::run(&g, &x).unwrap(), "{target}");
    assert!(l.graph.nodes.iter().all(|n| !n.op.is_qnn()), "{target}");
    let convs: Vec<usize> = (0..l.graph.nodes.len())
        .filter(|&i| matches!(l.graph.nodes[i].op, Op::Conv2d { .. } | Op::Dense))
        .collect();
    assert_eq!(convs.len(), l.explanation.ops.len(), "{target}");
    convs
        .into_iter()
        .zip(&l.explanation.ops)
        .map(|(i, op)| {
            let n = &l.graph.nodes[i];
            let f = match_fused_conv(&l.graph, i).expect("the canonical fused form");
            let backend = qnn_ir::backend::registry::backend(&op.backend).expect("registered").name;
            Decision {
                lowering: f.lowering,
                backend,
                operands: (l.graph.ty(n.inputs[0]).dtype, l.graph.ty(n.inputs[1]).dtype),
                t3: f.weight_zero_points.is_some_and(|z| z.iter().any(|&z| z != 0)),
            }
        })
        .collect()
}

fn named(s: &str) -> Target {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

const A53: &str = "aarch64-unknown-linux-gnu:cortex-a53";
const N1: &str = "aarch64-unknown-linux-gnu:neoverse-n1";
const I8MM: &str = "aarch64-unknown-linux-gnu:+dotprod,+i8mm";
const AVX2: &str = "x86_64-unknown-linux-gnu:avx2";
const CLX: &str = "x86_64-unknown-linux-gnu:cascadelake";
const CUDA: &str = "cuda";

/// The x86 descriptors register only in x86-64 builds (their crates compile to nothing
/// elsewhere), so their rows run there.
fn x86_linked() -> bool {
    qnn_runtime::registered_backends().contains(&"x86-avx2")
}

/// The table: (target, policy) → decision per op.
fn table() -> Vec<(&'static str, &'static str, [Decision; 4])> {
    let neon16 = d(INT16, "arm-neon", I16, false);
    let dot = |o, t3| d(INT8, "arm-dotprod", o, t3);
    // sdot for the s8 weights (data shifted to s8); udot for dw's u8 weights and for pw,
    // whose asymmetric weights need T3 anyway (shifting them to u8 is free, the data not).
    let dotprod = [dot(S8S8, false), dot(U8U8, true), dot(U8U8, true), dot(S8S8, false)];
    let vnni = |t3| d(INT8, "x86-vnni", U8S8, t3);
    let avx2 = |l, o, t3| d(l, "x86-avx2", o, t3);
    let dp4a = |t3| d(INT8, "cuda-dp4a", S8S8, t3);
    vec![
        // No dot product (Raspberry Pi 3): int16 everywhere under the capability rule; the
        // cost model gives the 80-MAC fc int8 (u8×s8 as given), as int16 weights and
        // widened data cost more than its arithmetic.
        (A53, "capability", [neon16; 4]),
        (A53, "cost-model", [neon16, neon16, neon16, d(INT8, "arm-neon", U8S8, false)]),
        (N1, "capability", dotprod),
        (N1, "cost-model", dotprod),
        // i8mm changes kernels, not the lowering (the descriptor is arm-dotprod's).
        (I8MM, "capability", dotprod),
        (I8MM, "cost-model", dotprod),
        // AVX2 only: int16 under the rule; the cost model keeps int8 (exact widening
        // kernels, close figures) except for dw, whose u8 weights at 128 would need T3.
        (AVX2, "capability", [avx2(INT16, I16, false); 4]),
        (
            AVX2,
            "cost-model",
            [
                avx2(INT8, U8S8, false),
                avx2(INT16, I16, false),
                avx2(INT8, U8S8, true),
                avx2(INT8, U8S8, false),
            ],
        ),
        // VNNI: u8×s8 (dw's u8 weights shifted to s8, their zero point 128 → 0).
        (CLX, "capability", [vnni(false), vnni(false), vnni(true), vnni(false)]),
        (CLX, "cost-model", [vnni(false), vnni(false), vnni(true), vnni(false)]),
        // dp4a: s8×s8 (u8 data and weights shifted by −128).
        (CUDA, "capability", [dp4a(false), dp4a(false), dp4a(true), dp4a(false)]),
        (CUDA, "cost-model", [dp4a(false), dp4a(false), dp4a(true), dp4a(false)]),
    ]
}

fn policy(name: &str) -> Box<dyn LoweringPolicy> {
    match name {
        "capability" => Box::new(Capability),
        _ => Box::new(CostModel::new()),
    }
}

#[test]
fn every_named_target_with_the_real_descriptors() {
    let mut rows = 0;
    for (target, p, want) in table() {
        if target.starts_with("x86_64") && !x86_linked() {
            eprintln!("SKIPPED: {target}: the x86 backends are not part of this build");
            continue;
        }
        let t = named(target);
        assert_eq!(decide(&t, policy(p).as_ref()), want, "{target}, {p}");
        rows += 1;
    }
    assert!(rows >= 8, "{rows} rows");
}

/// The named targets carry the real backends: each tier's descriptors, and `cuda` alone.
#[test]
fn named_targets_hold_the_real_backends() {
    let names = |t: &str| named(t).backends().iter().map(|d| d.name).collect::<Vec<_>>();
    assert_eq!(names(A53), ["arm-neon", "portable"]);
    assert_eq!(names(N1), ["arm-dotprod", "arm-neon", "portable"]);
    assert_eq!(names(I8MM), ["arm-dotprod", "arm-neon", "portable"]);
    assert_eq!(names(CUDA), ["cuda-dp4a"]);
    if x86_linked() {
        assert_eq!(names(AVX2), ["x86-avx2", "portable"]);
        assert_eq!(names(CLX), ["x86-vnni", "x86-avx2", "portable"]);
    }
}

/// The host decides as the named target with the same backends does (x86-64 with VNNI:
/// cascadelake; AVX2 only: avx2; aarch64 per tier: cortex-a53, neoverse-n1, +i8mm). A
/// machine with a usable GPU has cuda-dp4a among its host backends, which no named target
/// describes: its host row is printed only.
#[test]
fn the_host_decides_as_its_named_target() {
    let host = Target::host();
    let backends = host.backend_names();
    let twin = [CLX, AVX2, I8MM, N1, A53].into_iter().find(|t| {
        let t = named(t);
        // i8mm and dotprod tiers have the same backends: tell them apart by features.
        t.backend_names() == backends
            && t.features().iter().all(|f| f == "neon" || host.features().contains(f))
    });
    for p in ["capability", "cost-model"] {
        let got = decide(&host, policy(p).as_ref());
        match twin {
            Some(t) => assert_eq!(
                got,
                decide(&named(t), policy(p).as_ref()),
                "host ({backends}) vs {t}, {p}"
            ),
            None => {
                eprintln!("host ({backends}), {p}: no named target has these backends: {got:?}")
            }
        }
    }
}
