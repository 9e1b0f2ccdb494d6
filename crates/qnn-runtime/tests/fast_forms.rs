//! The float qnn.add lowering (ONNX Runtime's QLinearAdd) and quantize — on a registered
//! kernel where the backends have one for the operands, else as a whole-group loop of the
//! element-wise evaluator — against the reference on every operand pair and on rounding
//! ties: random data rarely lands on a tie, where a multiply-then-add instead of the fused
//! multiply-add, or a multiply by the reciprocal instead of the division, would round
//! differently.

mod common;

use common::config;
use proptest::prelude::*;
use qnn_ir::*;
use qnn_runtime::{CompileOptions, Compiler, Exec};

/// How the plan must run the op.
#[derive(Debug, Clone, Copy)]
enum Form {
    /// A step on a registered kernel computing this (`qlinear-add`, `quantize`).
    Kernel(&'static str),
    /// The whole-group loop of the element-wise evaluator of this name.
    Loop(&'static str),
    /// The general evaluator.
    General,
}

/// The compiled run, checked to use `form`.
fn compiled(g: &Graph, inputs: &[Tensor], form: Form) -> Vec<Tensor> {
    let m = Compiler::new(CompileOptions::new().threads(2)).compile(g).unwrap();
    let r = m.report();
    let forms: Vec<&str> = r.steps.iter().map(|s| s.op.as_str()).collect();
    match form {
        Form::Kernel(f) => assert!(
            r.steps.iter().any(|s| s.exec == Exec::DataKernel && s.op == f && s.kernel.is_some()),
            "{r}"
        ),
        Form::Loop(f) => {
            assert!(forms.iter().any(|s| s.contains(&format!("one {f} loop"))), "{forms:?}")
        }
        Form::General => assert!(
            forms.iter().all(|s| !s.contains("loop")) && r.count(Exec::DataKernel) == 0,
            "{forms:?}"
        ),
    }
    m.run(inputs).unwrap()
}

/// Every (a, b) pair of 8-bit operands.
fn all_pairs(da: DType, db: DType) -> (Tensor, Tensor) {
    let (la, _) = da.int_range().unwrap();
    let (lb, _) = db.int_range().unwrap();
    let a: Vec<i64> = (0..65536).map(|i| la + (i / 256)).collect();
    let b: Vec<i64> = (0..65536).map(|i| lb + (i % 256)).collect();
    (common::tensor(da, &[256, 256], a), common::tensor(db, &[256, 256], b))
}

fn qadd(da: DType, db: DType, lhs: QuantParams, rhs: QuantParams, out: QuantParams) -> Graph {
    let mut b = GraphBuilder::new("qadd");
    let x = b.input("a", TensorType::new(da, [256, 256])).unwrap();
    let y = b.input("b", TensorType::new(db, [256, 256])).unwrap();
    let op = Op::QnnAdd { lhs, rhs, output: out, rounding: Rounding::Float, out_dtype: da };
    let s = b.node("add", op, &[x, y]).unwrap();
    b.output(s);
    b.finish().unwrap()
}

#[test]
fn qlinear_add_on_every_operand_pair() {
    let q = QuantParams::per_tensor;
    // The peer model's tie (mobilenetv2_qop_pt, add_108), halves and quarters.
    let cases = [
        (q(0.09916852, 130), q(0.08320319, 116), q(0.130879, 130)),
        (q(0.5, 0), q(0.25, 128), q(1.0, 3)),
        (q(0.02, 255), q(0.04, 0), q(0.06, 128)),
    ];
    for (l, r, o) in cases {
        for (da, db) in [(DType::U8, DType::U8), (DType::I8, DType::U8), (DType::I8, DType::I8)] {
            let fix = |p: &QuantParams, d: DType| {
                let (lo, hi) = d.int_range().unwrap();
                q(p.scale[0], (p.zero_point[0] as i64).clamp(lo, hi) as i32)
            };
            let g = qadd(da, db, fix(&l, da), fix(&r, db), fix(&o, da));
            let (a, b) = all_pairs(da, db);
            let inputs = [a, b];
            let want = reference::run(&g, &inputs).unwrap();
            // The kernels add operands of one dtype; mixed ones run as the evaluator's loop.
            let form =
                if da == db { Form::Kernel("qlinear-add") } else { Form::Loop("qlinear-add") };
            assert_eq!(compiled(&g, &inputs, form), want, "{da}×{db} {l:?} {r:?} {o:?}");
        }
    }
}

/// The general evaluator's fma instructions (a broadcast operand rules the one-loop form
/// out) on every pair too.
#[test]
fn qlinear_add_broadcast_on_every_operand_pair() {
    let q = QuantParams::per_tensor;
    let mut b = GraphBuilder::new("qadd");
    let x = b.input("a", TensorType::new(DType::U8, [256, 256])).unwrap();
    let y = b.input("b", TensorType::new(DType::U8, [256])).unwrap();
    let (l, r, o) = (q(0.09916852, 130), q(0.08320319, 116), q(0.130879, 130));
    let op =
        Op::QnnAdd { lhs: l, rhs: r, output: o, rounding: Rounding::Float, out_dtype: DType::U8 };
    let s = b.node("add", op, &[x, y]).unwrap();
    b.output(s);
    let g = b.finish().unwrap();
    let a = common::tensor(DType::U8, &[256, 256], (0..65536).map(|i| i / 256).collect());
    let inputs = [a, common::tensor(DType::U8, &[256], (0..256).collect())];
    assert_eq!(compiled(&g, &inputs, Form::General), reference::run(&g, &inputs).unwrap());
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn qlinear_add_random_parameters(
        (sa, sb, so) in (1e-3f32..1.0, 1e-3f32..1.0, 1e-3f32..1.0),
        (za, zb, zo) in (0i32..256, 0i32..256, 0i32..256),
    ) {
        let q = QuantParams::per_tensor;
        let g = qadd(DType::U8, DType::U8, q(sa, za), q(sb, zb), q(so, zo));
        let (a, b) = all_pairs(DType::U8, DType::U8);
        let inputs = [a, b];
        prop_assert_eq!(compiled(&g, &inputs, Form::Kernel("qlinear-add")), reference::run(&g, &inputs).unwrap());
    }

    /// Quantize on the values that decide rounding: exact ties `(k + ½)·s`, their
    /// neighbours one ulp away, multiples of `s`, out-of-range values, ±∞ and NaN.
    #[test]
    fn quantize_on_ties(s in 1e-3f32..2.0, z in 0i32..256) {
        let mut v = Vec::new();
        for k in -300..300 {
            let t = (k as f32 + 0.5) * s;
            v.extend([t, f32::from_bits(t.to_bits() + 1), f32::from_bits(t.to_bits().wrapping_sub(1)), k as f32 * s]);
        }
        v.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e30, -1e30, 0.0, -0.0]);
        let n = v.len();
        let mut b = GraphBuilder::new("quantize");
        let x = b.input("x", TensorType::new(DType::F32, [n])).unwrap();
        let op = Op::QnnQuantize { output: QuantParams::per_tensor(s, z), out_dtype: DType::U8 };
        let y = b.node("q", op, &[x]).unwrap();
        b.output(y);
        let g = b.finish().unwrap();
        let inputs = [Tensor::from_vec(&[n], v).unwrap()];
        prop_assert_eq!(compiled(&g, &inputs, Form::Kernel("quantize")), reference::run(&g, &inputs).unwrap());
    }
}
