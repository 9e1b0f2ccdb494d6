//! The decision table: each named target → the lowering chosen per op, checked on the
//! legalized graph's structure (the operand dtypes of each core conv/dense, and whether the
//! T3 term is there), never on printed text. Every legalized graph is also checked exact.

mod common;

use common::net::{small_net, small_net_input};
use common::*;
use qnn_ir::backend::Int8Dot;
use qnn_ir::{DType, Graph, reference};
use qnn_legalize::{Capability, CostModel, LoweringPolicy, Target, legalize, match_fused_conv};

/// Operand dtypes (data, weight) of each core conv/dense, in graph order (the order of the
/// QNN conv/dense ops they come from: conv1, dw, pw, fc).
fn operands(g: &Graph) -> Vec<(DType, DType)> {
    conv_nodes(g)
        .into_iter()
        .map(|i| {
            let n = &g.nodes[i];
            (g.ty(n.inputs[0]).dtype, g.ty(n.inputs[1]).dtype)
        })
        .collect()
}

const I16: (DType, DType) = (DType::I16, DType::I16);
const U8S8: (DType, DType) = (DType::U8, DType::I8);
const S8S8: (DType, DType) = (DType::I8, DType::I8);
const U8U8: (DType, DType) = (DType::U8, DType::U8);

/// Legalizes the net for `target` with `policy`; checks exactness and returns the operand
/// dtypes per op.
fn decide(target: &Target, policy: &dyn LoweringPolicy) -> Vec<(DType, DType)> {
    let g = small_net();
    let x = [small_net_input()];
    let l = legalize(&g, target, policy).unwrap_or_else(|e| panic!("{target}: {e}"));
    let want = reference::run(&g, &x).unwrap();
    assert_eq!(reference::run(&l.graph, &x).unwrap(), want, "{target}");
    // Every conv/dense is one recognized fused pattern.
    for i in conv_nodes(&l.graph) {
        let f = match_fused_conv(&l.graph, i).expect("canonical form");
        assert!(f.requantize.is_some(), "{target}: requantize fused");
    }
    records::check(&l);
    assert!(l.graph.nodes.iter().all(|n| !n.op.is_qnn()));
    operands(&l.graph)
}

fn named(s: &str) -> Target {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn capability_rule_per_target() {
    let table: [(&str, [(DType, DType); 4]); 6] = [
        // No dotprod (Raspberry Pi 3): int16 everywhere.
        ("aarch64-unknown-linux-gnu:cortex-a53", [I16; 4]),
        // sdot/udot: s8×s8 where the weights are s8 (data shifted), u8×u8 for the u8 weights.
        // (pw already has T3: shifting its weights to u8 is free, shifting the data is not.)
        ("aarch64-unknown-linux-gnu:neoverse-n1", [S8S8, U8U8, U8U8, S8S8]),
        ("aarch64-unknown-linux-gnu:+dotprod", [S8S8, U8U8, U8U8, S8S8]),
        // AVX2 only: int16.
        ("x86_64-unknown-linux-gnu:avx2", [I16; 4]),
        // VNNI: u8×s8 (the u8 weights of dw shifted to s8).
        ("x86_64-unknown-linux-gnu:cascadelake", [U8S8; 4]),
        // dp4a: s8×s8.
        ("cuda", [S8S8; 4]),
    ];
    for (name, want) in table {
        assert_eq!(decide(&named(name), &Capability), want, "{name}");
    }
    assert_eq!(decide(&named("x86_64-unknown-linux-gnu:+avx512vnni"), &Capability), [U8S8; 4]);
}

#[test]
fn capability_rule_on_the_host() {
    let host = Target::host();
    let best_dot = host.backends().iter().find_map(|d| d.capabilities.int8_dot.first().copied());
    let got = decide(&host, &Capability);
    match best_dot {
        None => assert_eq!(got, [I16; 4]),
        Some(Int8Dot::U8S8) => assert_eq!(got, [U8S8; 4]),
        Some(_) => assert!(got.iter().all(|&o| o == S8S8 || o == U8U8), "{got:?}"),
    }
}

/// The cost model on the test descriptors' figures. Where a big op's int16 form is cheaper
/// (no int8 dot product) it wins; the 160-MAC dense goes int8 everywhere because moving its
/// int16 weights and widened data costs more than the arithmetic.
#[test]
fn cost_model_per_target() {
    let cm = CostModel::new();
    let table: [(&str, [(DType, DType); 4]); 6] = [
        ("aarch64-unknown-linux-gnu:cortex-a53", [I16, I16, I16, U8S8]),
        ("aarch64-unknown-linux-gnu:neoverse-n1", [S8S8, U8U8, U8U8, S8S8]),
        ("x86_64-unknown-linux-gnu:avx2", [I16, I16, I16, U8S8]),
        ("x86_64-unknown-linux-gnu:haswell", [I16, I16, I16, U8S8]),
        ("x86_64-unknown-linux-gnu:cascadelake", [U8S8; 4]),
        ("cuda", [S8S8; 4]),
    ];
    for (name, want) in table {
        assert_eq!(decide(&named(name), &cm), want, "{name}");
    }
    // The host: int8 on a backend with a dot product wherever the op is big.
    let host = Target::host();
    let got = decide(&host, &cm);
    if host.backends().iter().any(|d| d.capabilities.has_int8_dot()) {
        assert_ne!(got[0], I16, "{got:?}");
    } else {
        assert_eq!(got[0], I16, "{got:?}");
    }
}

/// A memory budget rules out int16 weights that do not fit: with 500 B, conv1's 432 B of
/// int16 weights fit, then dw's 144 B would not (576 B), nor pw's; those go int8 (operands
/// as given: arm-neon has no dot product).
#[test]
fn memory_budget_rules_out_int16_weights() {
    let a53 = named("aarch64-unknown-linux-gnu:cortex-a53");
    assert_eq!(decide(&a53, &CostModel::with_memory_budget(500)), [I16, U8U8, U8S8, U8S8]);
    assert_eq!(decide(&a53, &CostModel::with_memory_budget(1 << 20)), [I16, I16, I16, U8S8]);
    let l = legalize(&small_net(), &a53, &CostModel::with_memory_budget(500)).unwrap();
    let dw = l.explanation.op("dw").unwrap();
    let ruled_out =
        dw.estimates.iter().find(|e| e.lowering == qnn_legalize::Lowering::Int16Upcast).unwrap();
    assert!(ruled_out.cycles.is_none(), "{ruled_out:?}");
}

/// Forcing: a lowering globally or per node, and a backend through `restrict_to`.
#[test]
fn forcing_lowerings_and_backends() {
    use qnn_legalize::{Forced, Lowering};
    let n1 = named("aarch64-unknown-linux-gnu:neoverse-n1");
    let all16 = Forced::new(Capability).all(Lowering::Int16Upcast);
    assert_eq!(decide(&n1, &all16), [I16; 4]);
    let one = Forced::new(Capability).op("dw", Lowering::Int16Upcast);
    assert_eq!(decide(&n1, &one), [S8S8, I16, U8U8, S8S8]);
    let neon_only = n1.restrict_to("arm-neon").unwrap();
    assert_eq!(decide(&neon_only, &Capability), [I16; 4]);
    let l = legalize(&small_net(), &neon_only, &Capability).unwrap();
    assert!(l.explanation.ops.iter().all(|o| o.backend == "arm-neon"));
    // Int8 forced on a backend without a dot product keeps the operands as given.
    let int8 = Forced::new(Capability).all(Lowering::Int8ZeroPointTerms);
    assert_eq!(decide(&neon_only, &int8), [U8S8, U8U8, U8S8, U8S8]);
}

#[test]
fn explanation_round_trips_through_json() {
    let l =
        legalize(&small_net(), &named("aarch64-unknown-linux-gnu:neoverse-n1"), &CostModel::new())
            .unwrap();
    // The lowered graph prints and parses back (its names, `conv1.t1` etc., are plain).
    let text = qnn_ir::text::print(&l.graph);
    assert_eq!(qnn_ir::text::parse(&text).unwrap(), l.graph);
    let json = l.explanation.to_json();
    let back = qnn_legalize::Explanation::from_json(&json).unwrap();
    assert_eq!(back, l.explanation);
    let dw = back.op("dw").unwrap();
    assert_eq!(
        (dw.lowering, dw.backend.as_str(), dw.int8_dot.as_deref()),
        (qnn_legalize::Lowering::Int8ZeroPointTerms, "arm-dotprod", Some("u8×u8"))
    );
    assert!(dw.t3 && dw.signature.weight_zero_point_nonzero);
    assert_eq!(dw.signature.kind, qnn_legalize::OpKind::DepthwiseConv2d);
    assert_eq!(dw.estimates.len(), 4);
    assert_eq!(back.other_ops.len(), 7);
}

/// The records hand each conv/dense's decision to the runtime as values: the explanation's
/// lowering and backend, in graph order, for every named target and policy.
#[test]
fn records_carry_the_decisions_of_the_explanation() {
    use qnn_legalize::RecordKind;
    let targets =
        ["aarch64-unknown-linux-gnu:cortex-a53", "aarch64-unknown-linux-gnu:+dotprod", "cuda"];
    for target in targets.map(named) {
        for policy in [&Capability as &dyn LoweringPolicy, &CostModel::new()] {
            let l = legalize(&small_net(), &target, policy).unwrap();
            let convs: Vec<_> = l
                .records
                .iter()
                .filter_map(|r| match &r.kind {
                    RecordKind::Conv(c) => Some((r.source.clone(), c.lowering, c.backend)),
                    _ => None,
                })
                .collect();
            let explained: Vec<_> = l
                .explanation
                .ops
                .iter()
                .map(|o| (o.node.clone(), o.lowering, Some(o.backend.as_str())))
                .collect();
            let convs: Vec<_> = convs.iter().map(|(n, lo, b)| (n.clone(), *lo, *b)).collect();
            assert_eq!(convs, explained, "{target}");
            records::check(&l);
        }
    }
}
