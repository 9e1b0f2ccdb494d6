//! The ops around the convolutions run as typed steps on the registered kernels of their
//! kind (pooling, element-wise, transpose), chosen in the plan, and stay bit-exact:
//!
//! * the QDQ pattern fixtures of qnn-onnx (pools, QLinearAdd, concatenation, LeakyRelu,
//!   Sigmoid, Relu/Clip chains, …), on every usable backend and with 1 and 2 threads, equal
//!   ONNX Runtime's outputs and name the kernel each op must run on;
//! * the peer models take their input as one quantizing transpose and run every QLinearAdd
//!   on a kernel;
//! * random graphs of pools (padding, strides, ceil mode, `count_include_pad`, global), adds,
//!   concatenations with and without requantization, quantize / dequantize at the edges,
//!   requantize, clip and table lookups equal the reference bit for bit, every such op on
//!   its typed step;
//! * element-wise groups that are a function of one 8-bit value run as one lookup, and one
//!   the reference would report an error for does not.

mod common;

use std::path::PathBuf;

use common::data_graph::{build, net};
use common::{config, usable_backends};
use proptest::prelude::*;
use qnn_ir::*;
use qnn_onnx::{ImportOptions, Model};
use qnn_runtime::{CompileOptions, Compiler, Exec, PlanReport, RuntimeError, StepReport};

fn fixture(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../qnn-onnx/tests/fixtures").join(sub)
}

fn import(path: PathBuf) -> Graph {
    Model::from_path(path).unwrap().import(&ImportOptions::default()).unwrap().graph
}

/// `dir/<stem>_<k>.npy` for k = 0, 1, … while they exist.
fn numbered(dir: &std::path::Path, stem: &str) -> Vec<Tensor> {
    (0..)
        .map(|k| dir.join(format!("{stem}_{k}.npy")))
        .take_while(|p| p.exists())
        .map(|p| qnn_npy::read(&p).unwrap())
        .collect()
}

/// The steps of `r` on a data kernel whose op starts with `op`.
fn on_kernel<'a>(r: &'a PlanReport, op: &str) -> Vec<&'a StepReport> {
    r.steps.iter().filter(|s| s.exec == Exec::DataKernel && s.op.starts_with(op)).collect()
}

/// Each QDQ pattern and the (op, kernel suffix) steps its plan must hold: whatever backend
/// runs it (`avx2_`, `neon_`, `portable_`), the kernel of that kind.
const PATTERNS: [(&str, &[(&str, &str)]); 18] = [
    (
        "maxpool",
        &[
            ("quantize + transpose", "_transpose_quantize_u8"),
            ("max pool 3×3 s2", "_pool_max_u8"),
            ("dequantize + transpose", "_transpose_dequantize_u8"),
        ],
    ),
    ("avgpool_pad", &[("average pool (f32) 3×3", "_pool_avg_u8")]),
    ("avgpool_count_pad", &[("average pool (f32) 3×3", "_pool_avg_u8")]),
    ("avgpool_ceil", &[("average pool (f32) 2×2 s2", "_pool_avg_u8")]),
    ("avgpool_global_window", &[("sum pool 9×9", "_pool_sum_u8")]),
    ("global_avgpool", &[("sum pool 9×9", "_pool_sum_u8")]),
    (
        "add",
        &[
            ("quantize", "_quantize_u8"),
            ("qlinear-add", "_add_u8"),
            ("dequantize", "_dequantize_u8"),
        ],
    ),
    ("add_ties", &[("qlinear-add", "_add_u8")]),
    ("add_s8", &[("quantize", "_quantize_s8"), ("qlinear-add", "_add_s8")]),
    ("concat", &[("lookup", "_lookup_u8u8")]),
    ("leakyrelu", &[("lookup", "_lookup_u8u8")]),
    ("sigmoid", &[("lookup", "_lookup_u8u8")]),
    ("sigmoid_s8", &[("lookup", "_lookup_s8s8")]),
    ("relu_kept", &[("lookup (", "_lookup_u8u8")]),
    ("clip_kept", &[("lookup (", "_lookup_u8u8")]),
    ("relu_removed_by_q", &[("lookup (", "_lookup_u8u8")]),
    ("transpose", &[("transpose", "_transpose_x8")]),
    (
        "residual_block",
        &[
            ("quantize + transpose", "_transpose_quantize_u8"),
            ("qlinear-add", "_add_u8"),
            ("sum pool", "_pool_sum_u8"),
        ],
    ),
];

#[test]
fn qdq_patterns_run_on_the_kernels_of_their_ops() {
    let threads: &[usize] = if common::emulated() { &[2] } else { &[1, 2] };
    for (name, expected) in PATTERNS {
        let dir = fixture("qdq").join(name);
        let g = import(dir.join("model.onnx"));
        let (inputs, want) = (numbered(&dir, "input"), numbered(&dir, "output"));
        let forced = usable_backends().into_iter().map(Some);
        for backend in std::iter::once(None).chain(forced) {
            for &t in threads {
                let opts = CompileOptions::new().backend(backend).threads(t);
                let m = Compiler::new(opts).compile(&g).unwrap();
                let r = m.report();
                assert_eq!(m.run(&inputs).unwrap(), want, "{name} {backend:?} {t}\n{r}");
                assert_eq!(r.count(Exec::Reference), 0, "{name}\n{r}");
                for (op, suffix) in expected {
                    let steps = on_kernel(r, op);
                    let ok = steps.iter().any(|s| s.kernel.as_deref().unwrap().ends_with(suffix));
                    assert!(ok, "{name} {backend:?}: no `{op}` step on a `*{suffix}` kernel\n{r}");
                }
            }
        }
    }
}

/// The small conv net and the peer models (QOperator and QDQ): the f32 input quantized and
/// converted to NHWC in one step, every float `qnn.add` (QLinearAdd) on a kernel, the global
/// average pool's sum on a kernel, the output dequantized on a kernel; nothing on the
/// reference. (`peer_models.rs` compares their outputs with ONNX Runtime's on every
/// backend; the small net's are compared with the reference here.)
#[test]
fn models_take_their_edges_and_adds_on_kernels() {
    let mut models: Vec<(String, Graph)> =
        vec![("small_convnet".into(), common::nets::small_convnet())];
    let names: &[&str] = if common::emulated() {
        &["resnet_qop_pt", "resnet_qdq_pc"]
    } else {
        &[
            "resnet_qop_pt",
            "resnet_qop_pc",
            "resnet_qdq_pc",
            "mobilenetv2_qop_pt",
            "mobilenetv2_qdq_pc",
        ]
    };
    for name in names {
        models.push((name.to_string(), import(fixture("models").join(format!("{name}.onnx")))));
    }
    for (name, g) in &models {
        let m = Compiler::new(CompileOptions::new().threads(2)).compile(g).unwrap();
        let r = m.report();
        let first = &r.steps[0];
        assert_eq!(first.op, "quantize + transpose", "{name}\n{r}");
        assert!(first.kernel.as_deref().unwrap().ends_with("_transpose_quantize_u8"), "{r}");
        let adds = g.nodes.iter().filter(|n| matches!(n.op, Op::QnnAdd { .. })).count();
        assert_eq!(on_kernel(r, "qlinear-add").len(), adds, "{name}\n{r}");
        assert_eq!(on_kernel(r, "sum pool").len(), 1, "{name}\n{r}");
        assert_eq!(on_kernel(r, "dequantize").len(), 1, "{name}\n{r}");
        assert_eq!(r.count(Exec::Reference), 0, "{name}\n{r}");
    }
    let g = &models[0].1;
    let m = Compiler::new(CompileOptions::new().threads(2)).compile(g).unwrap();
    let x = [common::nets::small_convnet_input(5)];
    assert_eq!(m.run(&x).unwrap(), reference::run(g, &x).unwrap());
}

/// `x: u8[1, 4, 6, 6]` → max pool → requantize → relu → a group of one 8-bit value; and a
/// group of one i8 value whose i16 product overflows for some bytes, which stays a group
/// (the reference reports the overflow: a table would hide it).
#[test]
fn groups_of_one_byte_are_lookups_unless_a_byte_overflows() {
    let q = QuantParams::per_tensor(0.1, 3);
    let mut b = GraphBuilder::new("lookup");
    let x = b.input("x", TensorType::new(DType::U8, [1, 4, 6, 6])).unwrap();
    let pool = Pool2dAttrs {
        kernel: [2, 2],
        strides: [2, 2],
        padding: [0; 4],
        dilation: [1, 1],
        layout: DataLayout::Nchw,
    };
    let p = b.node("pool", Op::QnnMaxPool2d { pool }, &[x]).unwrap();
    let out = QuantParams::per_tensor(0.07, 130);
    let op = Op::QnnRequantize {
        input: q.clone(),
        output: out.clone(),
        rounding: Rounding::Upward,
        out_dtype: DType::U8,
    };
    let r = b.node("rq", op, &[p]).unwrap();
    let y = b.node("relu", Op::QnnRelu { q: out }, &[r]).unwrap();
    b.output(y);
    let g = b.finish().unwrap();
    let m = Compiler::new(CompileOptions::new()).compile(&g).unwrap();
    let rep = m.report();
    let lookups = on_kernel(rep, "lookup (");
    assert_eq!(lookups.len(), 1, "{rep}");
    assert!(lookups[0].kernel.as_deref().unwrap().ends_with("_lookup_u8u8"), "{rep}");
    assert_eq!(on_kernel(rep, "max pool").len(), 1, "{rep}");
    let xs = [common::tensor(DType::U8, &[1, 4, 6, 6], common::values(144, 3, 0, 255))];
    assert_eq!(m.run(&xs).unwrap(), reference::run(&g, &xs).unwrap());

    // i16(x) · 300 leaves i16 for |x| > 109: the group keeps reporting it.
    let mut b = GraphBuilder::new("overflow");
    let x = b.input("x", TensorType::new(DType::I8, [64])).unwrap();
    let w = b.node("wide", Op::Cast { to: DType::I16 }, &[x]).unwrap();
    let k = b.constant("k", Tensor::from_vec(&[1], vec![300i16]).unwrap()).unwrap();
    let p = b.node("mul", Op::Multiply, &[w, k]).unwrap();
    let y = b.node("narrow", Op::Cast { to: DType::I8 }, &[p]).unwrap();
    b.output(y);
    let g = b.finish().unwrap();
    let m = Compiler::new(CompileOptions::new()).compile_lowered(&g).unwrap();
    assert_eq!(m.report().count(Exec::DataKernel), 0, "{}", m.report());
    let small = [common::tensor(DType::I8, &[64], common::values(64, 1, -109, 109))];
    assert_eq!(m.run(&small).unwrap(), reference::run(&g, &small).unwrap());
    let big = [common::tensor(DType::I8, &[64], vec![110; 64])];
    assert!(matches!(m.run(&big), Err(RuntimeError::ValueOutOfRange { .. })));
    assert!(reference::run(&g, &big).is_err());
}

/// Bits of every output, so that −0.0 ≠ 0.0.
fn bits(ts: &[Tensor]) -> Vec<Vec<u64>> {
    ts.iter().map(|t| t.to_f64_vec().iter().map(|v| v.to_bits()).collect()).collect()
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn random_data_graphs_equal_the_reference(n in net()) {
        let (g, x, made) = build(&n);
        let want = reference::run(&g, std::slice::from_ref(&x));
        for threads in [1, 2] {
            let m = match Compiler::new(CompileOptions::new().threads(threads)).compile(&g) {
                Ok(m) => m,
                // A form the legalizer refuses (a window of padding only, …).
                Err(RuntimeError::Legalize(_)) => return Ok(()),
                Err(e) => return Err(TestCaseError::fail(format!("compile: {e}"))),
            };
            let r = m.report();
            match (&want, m.run(std::slice::from_ref(&x))) {
                (Ok(w), Ok(o)) => prop_assert_eq!(bits(w), bits(&o), "threads {}\n{}", threads, r),
                (Err(_), Err(_)) => {}
                (w, o) => prop_assert!(false, "reference {:?}, compiled {:?}\n{}", w.as_ref().err(), o.err(), r),
            }
            prop_assert_eq!(r.count(Exec::Reference), 0, "{}", r);
            // Every op of a kind the frame computes is one typed step on its kernel.
            prop_assert_eq!(on_kernel(r, "max pool").len(), made.max_pools, "{}", r);
            prop_assert_eq!(on_kernel(r, "average pool (f32)").len(), made.f32_pools, "{}", r);
            prop_assert_eq!(on_kernel(r, "sum pool").len(), made.sum_pools, "{}", r);
            prop_assert_eq!(on_kernel(r, "qlinear-add").len(), made.float_adds, "{}", r);
            let concats = r.steps.iter().filter(|s| s.op == "concatenate").count();
            prop_assert_eq!(concats, made.concats, "{}", r);
            prop_assert!(on_kernel(r, "lookup").len() >= made.converted_parts + made.tables, "{}", r);
            // The edges: the input quantized on a kernel (with its layout conversion when
            // the next op is NHWC), the output dequantized on one.
            prop_assert_eq!(on_kernel(r, "quantize").len(), 1, "{}", r);
            prop_assert_eq!(on_kernel(r, "dequantize").len(), usize::from(n.dequantize), "{}", r);
        }
    }
}
