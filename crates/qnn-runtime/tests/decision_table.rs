//! The legalizer's decision table re-run with the real backend descriptors this runtime
//! links (x86 now), checked on the legalized graph's structure; and the plan's kernel choice
//! per op when one backend is forced.

mod common;

use common::nets::{small_convnet, small_convnet_input};
use qnn_ir::{DType, Graph, Op, reference};
use qnn_legalize::{Capability, CostModel, Lowering, LoweringPolicy, Target, legalize};
use qnn_runtime::{CompileOptions, Compiler, Exec};

const I16: (DType, DType) = (DType::I16, DType::I16);
const U8S8: (DType, DType) = (DType::U8, DType::I8);

/// Operand dtypes (data, weight) of each core conv/dense in graph order (conv1, dw, pw, fc).
fn operands(g: &Graph) -> Vec<(DType, DType)> {
    g.nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Conv2d { .. } | Op::Dense))
        .map(|n| (g.ty(n.inputs[0]).dtype, g.ty(n.inputs[1]).dtype))
        .collect()
}

fn decide(target: &Target, policy: &dyn LoweringPolicy) -> Vec<(DType, DType)> {
    let g = small_convnet();
    let l = legalize(&g, target, policy).unwrap_or_else(|e| panic!("{target}: {e}"));
    let x = [small_convnet_input(3)];
    assert_eq!(reference::run(&l.graph, &x).unwrap(), reference::run(&g, &x).unwrap());
    operands(&l.graph)
}

fn avx2_target() -> Target {
    "x86_64-unknown-linux-gnu:avx2".parse().unwrap()
}

fn host_has(name: &str) -> bool {
    Target::host().backends().iter().any(|d| d.name == name)
}

/// The x86 descriptors are registered (their crates compile to nothing on other
/// architectures); the x86 rows of the table need them.
fn x86_linked() -> bool {
    let linked = qnn_runtime::registered_backends().contains(&"x86-avx2");
    if !linked {
        eprintln!("SKIPPED: the x86 backends are not part of this build (not x86_64)");
    }
    linked
}

#[test]
fn capability_rule_with_the_real_descriptors() {
    if !x86_linked() {
        return;
    }
    // AVX2 only: no int8 dot product anywhere → int16 on x86-avx2 for every op.
    assert_eq!(decide(&avx2_target(), &Capability), [I16; 4]);
    let l = legalize(&small_convnet(), &avx2_target(), &Capability).unwrap();
    assert!(l.explanation.ops.iter().all(|o| o.backend == "x86-avx2"), "{}", l.explanation);
    if host_has("x86-vnni") {
        // VNNI: u8×s8 everywhere (dw's u8 weights shifted to s8, its zero point 128 → 0).
        assert_eq!(decide(&Target::host(), &Capability), [U8S8; 4]);
        assert_eq!(decide(&Target::host().restrict_to("x86-avx2").unwrap(), &Capability), [I16; 4]);
    }
}

/// The cost model on the descriptors' figures. On AVX2, int8 (exact by widening, 18 MACs
/// per cycle) and int16 (20) are close, so the int16 lowering's prepass and wider operands
/// decide: int16 wins only for dw, whose u8 weights with zero point 128 would need the T3
/// pass under int8 terms. With VNNI, int8 terms win everywhere (108 MACs per cycle, and the
/// descriptor gives no int16 figure). A change of the backends' figures changes this table:
/// update it deliberately.
#[test]
fn cost_model_with_the_real_descriptors() {
    if !x86_linked() {
        return;
    }
    let avx2 = [U8S8, I16, U8S8, U8S8];
    assert_eq!(decide(&avx2_target(), &CostModel::new()), avx2);
    let host = decide(&Target::host(), &CostModel::new());
    if host_has("x86-vnni") {
        assert_eq!(host, [U8S8; 4]);
    } else if host_has("x86-avx2") {
        assert_eq!(host, avx2);
    }
    let l = legalize(&small_convnet(), &avx2_target(), &CostModel::new()).unwrap();
    let dw = l.explanation.op("dw").unwrap();
    assert_eq!(dw.lowering, Lowering::Int16Upcast);
    assert!(dw.reason.contains("cheapest"), "{}", dw.reason);
}

/// Kernel steps of a model compiled with `backend` forced: (step, backend, kernel, lowering).
fn kernels_with(opts: CompileOptions) -> Vec<(String, String, String, String)> {
    let g = small_convnet();
    let m = Compiler::new(opts).compile(&g).unwrap();
    let x = [small_convnet_input(4)];
    assert_eq!(m.run(&x).unwrap(), reference::run(&g, &x).unwrap());
    m.report()
        .steps
        .iter()
        .filter(|s| s.exec == Exec::Kernel)
        .map(|s| {
            let f = |o: &Option<String>| o.clone().unwrap_or_default();
            (s.step.clone(), f(&s.backend), f(&s.kernel), f(&s.lowering))
        })
        .collect()
}

#[test]
fn forcing_a_backend_picks_its_kernels() {
    let prefixes: [(&str, &[&str]); 3] = [
        ("x86-vnni", &["vnni_", "avxvnni_"]),
        ("x86-avx2", &["avx2_"]),
        ("portable", &["portable_"]),
    ];
    for (backend, prefix) in prefixes {
        if !common::usable_backends().contains(&backend) {
            eprintln!("SKIPPED: backend {backend} cannot run here");
            continue;
        }
        let ks = kernels_with(CompileOptions::new().backend(Some(backend)));
        assert_eq!(ks.len(), 4, "{backend}: {ks:?}");
        for (step, b, k, _) in &ks {
            assert_eq!(b, backend, "{step}");
            assert!(prefix.iter().any(|p| k.starts_with(p)), "{backend}: {step} runs {k}");
        }
        // QNN_BACKEND does the same as the API option.
        let env = CompileOptions::from_env_with(|k| (k == "QNN_BACKEND").then(|| backend.into()));
        assert_eq!(kernels_with(env), ks, "{backend}");
    }
    if common::usable_backends().contains(&"x86-avx2") {
        // The lowerings of the AVX2 table, on AVX2 kernels: exact int8 by widening (the
        // weights' pair sums exceed int16, so no vpmaddubsw), int16 for dw.
        let ks = kernels_with(CompileOptions::new().backend(Some("x86-avx2")));
        let got: Vec<(&str, &str)> = ks.iter().map(|k| (k.2.as_str(), k.3.as_str())).collect();
        assert_eq!(
            got,
            [
                ("avx2_gemm_u8s8_widen_6x16", "int8-terms"),
                ("avx2_dw_i16_16", "int16-upcast"),
                ("avx2_gemm_u8s8_widen_6x16", "int8-terms"),
                ("avx2_gemm_u8s8_widen_1x32", "int8-terms"),
            ]
        );
    }
}
