//! An int8 layer whose operand pair a backend has no int8 kernel for runs on that backend's
//! i16 kernel, widened (same integer products, same epilogue), instead of falling back to
//! the portable kernels: arm-neon's exact int8 path has s8×s8 and u8×u8 only, so a u8×s8
//! layer (the legalizer keeps operands as they are without a dot product, e.g. a Cortex-A53
//! depthwise layer under the cost model) takes `neon_dw_i16_16`. (x86-avx2 has kernels for
//! every 8-bit operand pair, reading the data in place.) Checked bit for bit against the reference on graphs lowered for
//! other machines and compiled, lowered, with each usable CPU backend forced.

mod common;

use common::nets::{small_convnet, small_convnet_input};
use common::random_graph::{Kind, Layer, Net, build, net};
use common::{config, usable_backends};
use proptest::prelude::*;
use qnn_ir::{Graph, Rounding, Tensor, reference};
use qnn_legalize::{CostModel, Forced, Lowering, Target, legalize};
use qnn_runtime::{CompileOptions, Compiler, Exec};

/// Targets whose legalization gives each operand pair: u8×s8 (VNNI), s8×s8 and u8×u8
/// (dotprod), s8×s8 (dp4a), and the pairs as the graph has them (AVX2, no dot product:
/// s8×u8 too, which only x86-avx2 among the SIMD backends has kernels for).
const LOWERED_FOR: [&str; 4] = [
    "x86_64-unknown-linux-gnu:cascadelake",
    "aarch64-unknown-linux-gnu:neoverse-n1",
    "cuda",
    "x86_64-unknown-linux-gnu:avx2",
];

/// CPU backends usable here (the device ones are not forced on a lowered graph).
fn cpu_backends() -> Vec<&'static str> {
    usable_backends().into_iter().filter(|b| *b != "cuda-dp4a").collect()
}

/// Compiles `lowered` with `backend` forced and runs it; returns the outputs and the number
/// of steps that ran widened (each on an i16 kernel).
fn run_forced(lowered: &Graph, backend: &str, x: &Tensor) -> (Vec<Tensor>, usize) {
    let opts = CompileOptions::new().backend(Some(backend)).threads(2);
    let m = Compiler::new(opts).compile_lowered(lowered).unwrap_or_else(|e| panic!("{e}"));
    let r = m.report();
    let widened: Vec<_> = r.steps.iter().filter(|s| s.note.contains("widened")).collect();
    for s in &widened {
        assert_eq!(s.exec, Exec::Kernel, "{r}");
        assert_eq!(s.backend.as_deref(), Some(backend), "{r}");
        assert!(s.kernel.as_deref().is_some_and(|k| k.contains("i16")), "{r}");
    }
    (m.run(std::slice::from_ref(x)).unwrap(), widened.len())
}

/// The small net's convs (u8 data; s8, u8 and per-channel asymmetric weights: T3 on dw and
/// pw) lowered for each machine, on each usable CPU backend forced: equal to the reference.
/// And int8 forced for a Cortex-A53 keeps the operands as they are (u8×s8, dw u8×u8): on
/// arm-neon, which has u8×u8 int8 kernels but no u8×s8 ones, conv1, pw and fc run widened.
#[test]
fn lowered_for_another_machine_runs_exactly_here() {
    let g = small_convnet();
    let x = small_convnet_input(5);
    let want = reference::run(&g, std::slice::from_ref(&x)).unwrap();
    for name in LOWERED_FOR {
        let target: Target = name.parse().unwrap();
        let lowered = legalize(&g, &target, &CostModel::new()).unwrap().graph;
        for backend in cpu_backends() {
            let (got, widened) = run_forced(&lowered, backend, &x);
            assert_eq!(got, want, "lowered for {name}, run on {backend}");
            eprintln!("lowered for {name}, on {backend}: {widened} step(s) widened");
        }
    }
    let a53: Target = "aarch64-unknown-linux-gnu:cortex-a53".parse().unwrap();
    let int8 = Forced::new(CostModel::new()).all(Lowering::Int8ZeroPointTerms);
    let lowered = legalize(&g, &a53, &int8).unwrap().graph;
    for backend in cpu_backends() {
        let (got, widened) = run_forced(&lowered, backend, &x);
        assert_eq!(got, want, "int8 for cortex-a53, run on {backend}");
        match backend {
            "arm-neon" => assert_eq!(widened, 3, "u8×s8 on arm-neon"),
            "portable" => assert_eq!(widened, 0),
            _ => {}
        }
    }
}

/// s8 data × u8 weights (per-channel zero points: T3), int8 forced on an AVX2 target, so
/// the operands stay as they are: arm-neon has no s8×u8 kernel, so both layers (a 3×3 conv
/// and a depthwise conv) run widened there, exactly; x86-avx2 runs them on its s8×u8
/// kernels, which widen in registers.
#[test]
fn s8_data_with_u8_weights_runs_widened() {
    let layer = |kind, out_c, seed| Layer {
        kind,
        out_c,
        kernel: 3,
        stride: 1,
        pad: 1,
        dilation: 1,
        group_pick: 0,
        weight_u8: true,
        wzp_mode: 3,
        bias: true,
        rounding: Rounding::Float,
        out_u8: false,
        out_zp_pick: 1,
        mult_exp: 0,
        clip: 0,
        count_include_pad: false,
        seed,
    };
    let net = Net {
        input_u8: false,
        input_zp_pick: 2,
        n: 1,
        c: 5,
        h: 7,
        w: 6,
        layers: vec![layer(Kind::Conv, 6, 11), layer(Kind::Depthwise, 6, 12)],
        seed: 3,
    };
    let (g, x) = build(&net);
    let want = reference::run(&g, std::slice::from_ref(&x)).unwrap();
    let avx2: Target = "x86_64-unknown-linux-gnu:avx2".parse().unwrap();
    let int8 = Forced::new(CostModel::new()).all(Lowering::Int8ZeroPointTerms);
    let lowered = legalize(&g, &avx2, &int8).unwrap().graph;
    let mut seen = 0;
    for backend in cpu_backends() {
        let (got, widened) = run_forced(&lowered, backend, &x);
        assert_eq!(got, want, "{backend}");
        let expected = match backend {
            "arm-neon" => 2,
            "x86-avx2" | "portable" => 0,
            _ => continue,
        };
        assert_eq!(widened, expected, "{backend}");
        seen += 1;
    }
    assert!(seen >= 2, "portable and an architecture's backend");
}

proptest! {
    #![proptest_config(config(24))]

    /// Random graphs (grouped, depthwise, strided, dilated, padded; edge zero points;
    /// per-channel asymmetric weights, so T3 too) lowered for each machine and run on each
    /// usable CPU backend forced equal the reference.
    #[test]
    fn random_graphs_lowered_elsewhere_run_exactly_here(n in net()) {
        let (g, x) = build(&n);
        let Ok(want) = reference::run(&g, std::slice::from_ref(&x)) else { return Ok(()) };
        for name in LOWERED_FOR {
            let target: Target = name.parse().unwrap();
            let Ok(l) = legalize(&g, &target, &CostModel::new()) else { continue };
            for backend in cpu_backends() {
                let (got, _) = run_forced(&l.graph, backend, &x);
                prop_assert_eq!(&got, &want, "lowered for {}, run on {}", name, backend);
            }
        }
    }
}
