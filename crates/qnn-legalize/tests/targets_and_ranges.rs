//! Named and host targets, and the range facts recorded for 16-bit-intermediate kernels.

mod common;

use common::*;
use qnn_ir::backend::Arch;
use qnn_ir::*;
use qnn_legalize::{Capability, Target, legalize};

fn names(t: &Target) -> Vec<&str> {
    t.backends().iter().map(|d| d.name).collect()
}

#[test]
fn named_targets_pick_the_backends_their_cpu_runs() {
    let t: Target = "aarch64-unknown-linux-gnu:cortex-a53".parse().unwrap();
    assert_eq!((t.arch(), t.cpu()), (Arch::Aarch64, Some("cortex-a53")));
    assert_eq!(names(&t), ["arm-neon"]);
    let t: Target = "aarch64-unknown-linux-gnu:neoverse-n1".parse().unwrap();
    assert_eq!(names(&t), ["arm-dotprod", "arm-neon"]);
    let t: Target = "aarch64-unknown-linux-gnu:+dotprod".parse().unwrap();
    assert_eq!(names(&t), ["arm-dotprod", "arm-neon"]);
    assert!(t.features().iter().any(|f| f == "neon"));
    let t = Target::named("x86_64-unknown-linux-gnu", "avx2").unwrap();
    assert_eq!(names(&t), ["x86-avx2"]);
    // avx512vnni implies avx2, so both x86 backends.
    let t: Target = "x86_64-unknown-linux-gnu:+avx512vnni".parse().unwrap();
    assert_eq!(names(&t), ["x86-vnni", "x86-avx2"]);
    let t: Target = "x86_64-unknown-linux-gnu:cascadelake".parse().unwrap();
    assert_eq!(names(&t), ["x86-vnni", "x86-avx2"]);
    let t: Target = "x86_64-unknown-linux-gnu".parse().unwrap();
    assert!(t.backends().is_empty(), "baseline x86-64 has no avx2");
    let t: Target = "cuda".parse().unwrap();
    assert_eq!((t.arch(), names(&t)), (Arch::Cuda, vec!["cuda-dp4a"]));
}

#[test]
fn the_host_target_is_what_probes_succeed() {
    let host: Target = "host".parse().unwrap();
    assert!(host.is_host());
    for d in qnn_ir::backend::registry::backends() {
        assert_eq!(names(&host).contains(&d.name), d.probe().is_ok(), "{}", d.name);
    }
    if let Some(first) = host.backends().first() {
        let one = host.restrict_to(first.name).unwrap();
        assert_eq!(names(&one), [first.name]);
    }
}

/// A 1×1 conv over 4 channels with the given weights, u8 or i8 data.
fn conv(data: DType, weights: Vec<i64>) -> Graph {
    let mut b = GraphBuilder::new("c");
    let x = b.input("x", TensorType::new(data, [1, 4, 2, 2])).unwrap();
    let w = b.constant("w", tensor(DType::I8, &[1, 4, 1, 1], weights)).unwrap();
    let q = QuantParams::per_tensor(1.0, 0);
    let y = b
        .node(
            "conv",
            Op::QnnConv2d { conv: Conv2dAttrs::default(), input: q.clone(), kernel: q },
            &[x, w],
        )
        .unwrap();
    b.output(y);
    b.finish().unwrap()
}

#[test]
fn pair_sum_facts_follow_the_weights() {
    let facts = |data, w: Vec<i64>, target: &str| {
        let l = legalize(&conv(data, w), &target.parse().unwrap(), &Capability).unwrap();
        l.explanation.ops[0].range.pair_sums.clone()
    };
    // u8 × s8 on VNNI: 255 · (127 + 127) > 32767 saturates vpmaddubsw; 255 · (64 + 64) fits.
    let f = facts(DType::U8, vec![127, 127, 1, 1], "x86_64-unknown-linux-gnu:cascadelake");
    let maddubs = f.iter().find(|p| p.instruction == "vpmaddubsw").unwrap();
    assert!(!maddubs.safe && maddubs.pair_sums.hi == 255 * 254, "{maddubs:?}");
    let f = facts(DType::U8, vec![64, 64, -64, 64], "x86_64-unknown-linux-gnu:cascadelake");
    assert!(f.iter().find(|p| p.instruction == "vpmaddubsw").unwrap().safe);
    // s8 × s8: (−128)·(−128)·2 = 32768 wraps smull+smlal; one −128 per pair is safe.
    let f = facts(DType::I8, vec![-128, -128, 5, 5], "cuda");
    let smlal = f.iter().find(|p| p.instruction == "smull+smlal").unwrap();
    assert!(!smlal.safe && smlal.pair_sums.hi == 32768, "{smlal:?}");
    let f = facts(DType::I8, vec![-128, 127, -128, 0], "cuda");
    assert!(f.iter().find(|p| p.instruction == "smull+smlal").unwrap().safe);
}

#[test]
fn range_bounds_use_the_actual_weights() {
    let l = legalize(&conv(DType::U8, vec![1, -2, 3, 0]), &"cuda".parse().unwrap(), &Capability)
        .unwrap();
    let op = &l.explanation.ops[0];
    // int16: data A − 0 ∈ [0, 255]; Σ W·A ∈ [−2·255, 4·255].
    assert_eq!((op.range.int16.accumulator.lo, op.range.int16.accumulator.hi), (-510, 1020));
    // s8×s8 on dp4a: data shifted to [−128, 127], a' = −128; T1 ∈ [Σ min, Σ max].
    let p = &op.range.int8_terms[0];
    assert_eq!(p.operands, "i8×i8");
    assert_eq!((p.range.t1.lo, p.range.t1.hi), (-128 - 254 - 384, 127 + 256 + 381));
    // The constant −a'·ΣW = 128 · 2.
    assert_eq!(p.range.constant.lo, 256);
    assert!(p.range.t3.is_none() && p.range.overflow.is_none());
}

/// The matcher only absorbs values nothing else reads: a conv whose output is also a graph
/// output keeps its epilogue outside, and a non-conv node is not a pattern.
#[test]
fn pattern_stops_at_shared_values() {
    use qnn_legalize::{Lowering, match_all, match_fused_conv};
    let mut b = GraphBuilder::new("shared");
    let x = b.input("x", TensorType::new(DType::U8, [1, 4, 2, 2])).unwrap();
    let w = b
        .constant("w", tensor(DType::I8, &[2, 4, 1, 1], vec![1, 2, 3, 4, -1, -2, -3, -4]))
        .unwrap();
    let q = QuantParams::per_tensor(1.0, 3);
    let y = b
        .node(
            "conv",
            Op::QnnConv2d { conv: Conv2dAttrs::default(), input: q.clone(), kernel: q.clone() },
            &[x, w],
        )
        .unwrap();
    let r = b
        .node(
            "rq",
            Op::QnnRequantize {
                input: QuantParams::per_tensor(0.5, 0),
                output: QuantParams::per_tensor(1.0, 0),
                rounding: Rounding::Upward,
                out_dtype: DType::U8,
            },
            &[y],
        )
        .unwrap();
    b.output(y);
    b.output(r);
    let g = b.finish().unwrap();
    let l = legalize(&g, &"x86_64-unknown-linux-gnu:cascadelake".parse().unwrap(), &Capability)
        .unwrap();
    let fused = match_all(&l.graph);
    assert_eq!(fused.len(), 1);
    let f = &fused[0];
    assert_eq!(f.lowering, Lowering::Int8ZeroPointTerms);
    // The conv's result is a graph output: the requantize is not fused.
    assert_eq!(f.output, l.graph.outputs[0]);
    assert!(f.requantize.is_none() && f.weight_zero_points.is_some());
    let rq = l.graph.nodes.iter().position(|n| matches!(n.op, Op::Requantize { .. })).unwrap();
    assert!(!f.nodes.contains(&rq));
    assert!(match_fused_conv(&l.graph, rq).is_none());
}
