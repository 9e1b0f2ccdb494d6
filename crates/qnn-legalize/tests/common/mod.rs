//! Shared by the integration tests: test-only backend descriptors shaped like the real ones
//! (registered in each test binary that includes this module), and helpers.
#![allow(dead_code)]

use proptest::prelude::*;
use qnn_ir::backend::registry;
use qnn_ir::{DType, Graph, Op, Tensor, reference};
use qnn_legalize::{Capability, Forced, Legalized, Lowering, Target, legalize};

pub mod descriptors;
pub mod net;
pub mod records;

/// Property-test case count: `QNN_PROPTEST_CASES` when set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("QNN_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

pub fn config(default: u32) -> ProptestConfig {
    ProptestConfig { cases: cases(default), failure_persistence: None, ..ProptestConfig::default() }
}

/// A one-backend target.
pub fn only(backend: &str) -> Target {
    let d = registry::backend(backend).unwrap_or_else(|| panic!("test backend {backend}"));
    Target::with_backends(format!("test:{backend}"), d.arch, vec![d])
}

/// The four dtype legalizations: u8×s8, s8×s8, u8×u8, and none (a backend without a dot
/// product keeps the operands).
pub const LEGALIZATIONS: [&str; 4] = ["x86-vnni", "cuda-dp4a", "test-udot", "x86-avx2"];

/// Values of an integer dtype, biased towards the edges and 0.
pub fn value_of(dtype: DType) -> BoxedStrategy<i64> {
    let (lo, hi) = dtype.int_range().expect("integer dtype");
    prop_oneof![
        3 => lo..=hi,
        1 => prop::sample::select(vec![lo, hi, 0, 1, (-1i64).max(lo), lo + 1, hi - 1]),
    ]
    .boxed()
}

/// Zero points with 0/255/−128/127 well represented.
pub fn zero_point_of(dtype: DType) -> BoxedStrategy<i32> {
    let (lo, hi) = dtype.int_range().expect("integer dtype");
    let edges: Vec<i32> = [0i64, 255, -128, 127, 1]
        .into_iter()
        .filter(|&v| dtype.contains(v))
        .map(|v| v as i32)
        .collect();
    prop_oneof![1 => (lo as i32)..=(hi as i32), 2 => prop::sample::select(edges)].boxed()
}

pub fn dtype8() -> impl Strategy<Value = DType> {
    prop::sample::select(vec![DType::U8, DType::I8])
}

/// A tensor of `dtype` from `i64` values.
pub fn tensor(dtype: DType, shape: &[usize], values: Vec<i64>) -> Tensor {
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), values).unwrap();
    Tensor::from_i64("test", dtype, a).unwrap()
}

/// Legalizes `g` with `lowering` forced on a one-backend target, checks the result is core
/// only, and that it computes exactly `want` (the QNN graph's outputs) on `inputs`.
pub fn check_exact(
    g: &Graph,
    inputs: &[Tensor],
    want: &[Tensor],
    backend: &str,
    lowering: Lowering,
) -> Legalized {
    let policy = Forced::new(Capability).all(lowering);
    let l = legalize(g, &only(backend), &policy)
        .unwrap_or_else(|e| panic!("legalize on {backend} with {lowering}: {e}"));
    assert!(l.graph.nodes.iter().all(|n| !n.op.is_qnn()), "QNN op left:\n{:?}", l.graph.nodes);
    let got = reference::run(&l.graph, inputs)
        .unwrap_or_else(|e| panic!("reference on the lowered graph ({backend}, {lowering}): {e}"));
    assert_eq!(
        got,
        want.to_vec(),
        "{backend} {lowering}: lowered graph differs\n{}",
        l.explanation
    );
    records::check(&l);
    l
}

/// The core conv/dense nodes of a graph.
pub fn conv_nodes(g: &Graph) -> Vec<usize> {
    (0..g.nodes.len()).filter(|&i| matches!(g.nodes[i].op, Op::Conv2d { .. } | Op::Dense)).collect()
}

/// Legalizes `g`, whose conv/dense weights are a graph input, on every test backend
/// and checks that the core graph computes the QNN graph's bits and says why it has no choice.
pub fn check_dynamic(g: &Graph, inputs: &[Tensor]) {
    let want = reference::run(g, inputs).expect("reference on the QNN graph");
    for backend in LEGALIZATIONS {
        let l = legalize(g, &only(backend), &Capability)
            .unwrap_or_else(|e| panic!("legalize on {backend}: {e}"));
        assert!(l.graph.nodes.iter().all(|n| !n.op.is_qnn()), "QNN op left on {backend}");
        assert!(l.explanation.ops.is_empty(), "no decision to explain");
        assert!(
            l.explanation.other_ops.iter().any(|o| o.op.contains("weights computed at run time")),
            "{:?}",
            l.explanation.other_ops
        );
        let got = reference::run(&l.graph, inputs).expect("reference on the lowered graph");
        assert_eq!(got, want, "{backend}: weights at run time\n{:?}", l.graph.nodes);
        records::check(&l);
    }
}
