//! Each invalid input gets its own error, naming the op (or target) and the value.

mod common;

use common::*;
use qnn_ir::backend::Arch;
use qnn_ir::*;
use qnn_legalize::policy::{Decision, DecisionContext};
use qnn_legalize::{Capability, Forced, LegalizeError, Lowering, LoweringPolicy, Target, legalize};

/// `x: u8[1, K] → qnn.dense (all weights 127) → requantize`, input zero point `a`.
fn long_dense(k: usize, a: i32) -> Graph {
    let mut b = GraphBuilder::new("long");
    let x = b.input("x", TensorType::new(DType::U8, [1, k])).unwrap();
    let w = b.constant("w", tensor(DType::I8, &[1, k], vec![127; k])).unwrap();
    let y = b
        .node(
            "fc",
            Op::QnnDense {
                input: QuantParams::per_tensor(0.1, a),
                kernel: QuantParams::per_tensor(0.1, 0),
            },
            &[x, w],
        )
        .unwrap();
    b.output(y);
    b.finish().unwrap()
}

fn named(s: &str) -> Target {
    s.parse().unwrap()
}

#[test]
fn overflow_is_refused_naming_the_op_and_bound() {
    // 255 · 127 · 70 000 > 2^31 under both lowerings when a = 0.
    let e = legalize(
        &long_dense(70_000, 0),
        &named("x86_64-unknown-linux-gnu:cascadelake"),
        &Capability,
    )
    .unwrap_err();
    let LegalizeError::Overflow { ref node, ref detail, .. } = e else { panic!("{e}") };
    assert_eq!(node, "fc");
    assert!(detail.contains("2266950000") && detail.contains("int16-upcast"), "{detail}");
    assert!(e.to_string().contains("qnn.dense `fc`"), "{e}");
}

#[test]
fn overflow_picks_the_other_lowering_when_it_is_safe() {
    // a = 128: |A − a| ≤ 128, so int16 is safe (128·127·70 000 < 2^31) but int8 terms with u8
    // data (VNNI) are not; Capability falls back to int16 and says why.
    let g = long_dense(70_000, 128);
    let l = legalize(&g, &named("x86_64-unknown-linux-gnu:cascadelake"), &Capability).unwrap();
    let op = &l.explanation.ops[0];
    assert_eq!(op.lowering, Lowering::Int16Upcast);
    assert!(op.reason.contains("not provably safe"), "{}", op.reason);
    assert!(op.rejected.iter().any(|r| r.candidate.contains("x86-vnni int8-terms")));
    // Forcing the unsafe lowering is refused, not emitted.
    let forced = Forced::new(Capability).all(Lowering::Int8ZeroPointTerms);
    let e = legalize(&g, &named("x86_64-unknown-linux-gnu:cascadelake"), &forced).unwrap_err();
    assert!(matches!(e, LegalizeError::PolicyRefused { ref node, .. } if node == "fc"), "{e}");
    // On dp4a the data is shifted to s8 (|A'| ≤ 128): the int8 terms are provably safe there.
    let l = legalize(&g, &named("cuda"), &Capability).unwrap();
    assert_eq!(l.explanation.ops[0].lowering, Lowering::Int8ZeroPointTerms);
    let x = tensor(DType::U8, &[1, 70_000], (0..70_000).map(|i| i % 256).collect());
    let want = reference::run(&g, std::slice::from_ref(&x)).unwrap();
    assert_eq!(reference::run(&l.graph, &[x]).unwrap(), want);
}

#[test]
fn unknown_targets_list_what_is_known() {
    let e = "riscv64-unknown-linux-gnu".parse::<Target>().unwrap_err();
    assert!(matches!(e, LegalizeError::UnknownTarget { .. }), "{e}");
    assert!(e.to_string().contains("aarch64-unknown-linux-gnu") && e.to_string().contains("cuda"));
    let e = "aarch64-unknown-linux-gnu:cortex-a99".parse::<Target>().unwrap_err();
    assert!(
        matches!(e, LegalizeError::UnknownCpu { ref given, .. } if given == "cortex-a99"),
        "{e}"
    );
    assert!(e.to_string().contains("cortex-a53") && e.to_string().contains("dotprod"), "{e}");
    let e = "x86_64-unknown-linux-gnu:+avx9".parse::<Target>().unwrap_err();
    assert!(e.to_string().contains("+avx9") && e.to_string().contains("avx512vnni"), "{e}");
}

#[test]
fn restricting_to_an_absent_backend_is_an_error() {
    let e = named("aarch64-unknown-linux-gnu:cortex-a53").restrict_to("x86-avx2").unwrap_err();
    let LegalizeError::UnknownBackend { ref available, .. } = e else { panic!("{e}") };
    assert_eq!(available, "arm-neon");
}

/// Weights computed at run time have no constant to prove ranges on: the dtype ranges bound
/// the accumulator, and a reduction too long for them is refused, naming the node.
#[test]
fn weights_at_run_time_with_a_reduction_that_may_overflow_are_refused() {
    let dense = |k: usize, wzp: i32| {
        let mut b = GraphBuilder::new("dyn");
        let x = b.input("x", TensorType::new(DType::U8, [1, k])).unwrap();
        let w = b.input("w", TensorType::new(DType::I8, [2, k])).unwrap();
        let (input, kernel) = (QuantParams::per_tensor(1.0, 0), QuantParams::per_tensor(1.0, wzp));
        let y = b.node("fc", Op::QnnDense { input, kernel }, &[x, w]).unwrap();
        b.output(y);
        b.finish().unwrap()
    };
    // 255 · 255 per product: 33025 of them fit in i32, 33026 do not.
    assert!(legalize(&dense(33_025, -128), &named("cuda"), &Capability).is_ok());
    let e = legalize(&dense(33_026, -128), &named("cuda"), &Capability).unwrap_err();
    assert!(matches!(e, LegalizeError::Overflow { ref node, .. } if node == "fc"), "{e}");
    assert!(e.to_string().contains("weights computed at run time"), "{e}");
    // A zero point in the middle of the range halves the bound.
    assert!(legalize(&dense(33_026, 0), &named("cuda"), &Capability).is_ok());
}

#[test]
fn a_target_without_backends_cannot_run_a_conv() {
    let empty = Target::with_backends("empty", Arch::X86_64, vec![]);
    let e = legalize(&long_dense(4, 0), &empty, &Capability).unwrap_err();
    assert!(matches!(e, LegalizeError::NoBackend { ref node, .. } if node == "fc"), "{e}");
    // Ops that need no decision legalize on any target.
    let mut b = GraphBuilder::new("relu");
    let x = b.input("x", TensorType::new(DType::U8, [3])).unwrap();
    let y = b.node("r", Op::QnnRelu { q: QuantParams::per_tensor(1.0, 9) }, &[x]).unwrap();
    b.output(y);
    assert!(legalize(&b.finish().unwrap(), &empty, &Capability).is_ok());
}

fn one_op(op: Op, ty: TensorType) -> Graph {
    let mut b = GraphBuilder::new("one");
    let x = b.input("x", ty).unwrap();
    let y = b.node("op", op, &[x]).unwrap();
    b.output(y);
    b.finish().unwrap()
}

#[test]
fn inexpressible_forms_are_unsupported() {
    let t = named("cuda");
    let unsupported = |g: Graph, what: &str| {
        let e = legalize(&g, &t, &Capability).unwrap_err();
        let LegalizeError::Unsupported { ref node, what: ref w, .. } = e else { panic!("{e}") };
        assert_eq!(node, "op");
        assert!(w.contains(what), "{w}");
    };
    let q = Op::QnnQuantize { output: QuantParams::per_tensor(1.0, 0), out_dtype: DType::I32 };
    unsupported(one_op(q, TensorType::new(DType::F32, [2])), "i32");
    let d = Op::QnnDequantize { input: QuantParams::per_tensor(1.0, 5) };
    unsupported(one_op(d, TensorType::new(DType::I32, [2])), "i32 input");
    let r = Op::QnnRequantize {
        input: QuantParams::per_tensor(1.0, 0),
        output: QuantParams::per_axis(vec![1.0], vec![1, 2], 0),
        rounding: Rounding::Upward,
        out_dtype: DType::I32,
    };
    unsupported(one_op(r, TensorType::new(DType::I32, [2])), "per-channel output zero points");
    // A fixed-point multiplier of 2^32 (the reference refuses it as well).
    let big = Op::QnnRequantize {
        input: QuantParams::per_tensor(4.0e9, 0),
        output: QuantParams::per_tensor(1.0, 0),
        rounding: Rounding::ToNearest,
        out_dtype: DType::U8,
    };
    unsupported(one_op(big, TensorType::new(DType::I32, [2])), "multiplier");
}

#[derive(Debug)]
struct Refuses;
impl LoweringPolicy for Refuses {
    fn name(&self) -> String {
        "refuses".into()
    }
    fn decide(&self, _: &DecisionContext<'_>) -> Result<Decision, String> {
        Err("never".into())
    }
}

#[derive(Debug)]
struct OutOfRange;
impl LoweringPolicy for OutOfRange {
    fn name(&self) -> String {
        "out-of-range".into()
    }
    fn decide(&self, ctx: &DecisionContext<'_>) -> Result<Decision, String> {
        Ok(Decision { choice: ctx.candidates.len(), reason: String::new(), estimates: vec![] })
    }
}

#[test]
fn policy_refusals_are_errors() {
    let g = long_dense(4, 0);
    let e = legalize(&g, &named("cuda"), &Refuses).unwrap_err();
    assert!(
        matches!(e, LegalizeError::PolicyRefused { ref reason, .. } if reason == "never"),
        "{e}"
    );
    let e = legalize(&g, &named("cuda"), &OutOfRange).unwrap_err();
    assert!(
        matches!(e, LegalizeError::PolicyRefused { ref policy, .. } if policy == "out-of-range")
    );
}

#[test]
fn an_invalid_graph_is_an_ir_error() {
    let mut g = long_dense(4, 0);
    g.outputs.push(ValueId(999));
    let e = legalize(&g, &named("cuda"), &Capability).unwrap_err();
    assert!(matches!(e, LegalizeError::Ir(IrError::Undefined { .. })), "{e}");
}
