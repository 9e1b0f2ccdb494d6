//! The three Arm dispatch tiers as the runtime sees them (ARCHITECTURE.md §7). Under qemu,
//! `QEMU_CPU` names the CPU model and fixes what the plan of the host target must be, for a
//! 3×3 conv (16→32, 12 output pixels: a multiple of both the 4- and 6-row tiles), a 3×3
//! depthwise conv (32 channels) and a one-row dense layer (384→40):
//!
//! | `QEMU_CPU`    | conv                                       | depthwise                       | dense                          |
//! |---------------|--------------------------------------------|---------------------------------|--------------------------------|
//! | `cortex-a53`  | arm-neon int16 `neon_gemm_i16_4x16`        | arm-neon int8 u8×s8 `neon_dw_i16_16` (widened) | arm-neon int8 u8×s8 `neon_gemm_i16_1x32` (widened) |
//! | `neoverse-n1` | arm-dotprod int8 `dotprod_gemm_s8s8_4x16c4` | arm-dotprod `dotprod_dw_s8s8_16` | arm-dotprod `dotprod_gemm_s8s8_1x32c4` |
//! | `max`         | arm-dotprod int8 `i8mm_gemm_s8s8_6x16c8`   | arm-dotprod `dotprod_dw_s8s8_16` | arm-dotprod `dotprod_gemm_s8s8_1x32c4` |
//!
//! with the runtime's default policy (the cost model). On the Cortex-A53 the cost model
//! gives the depthwise and dense layers the int8 lowering (their int16 weights and widened
//! data cost more than the arithmetic saves); arm-neon has no u8×s8 int8 kernel, so they
//! run widened on its i16 kernels. Under the capability rule (TVM's) every layer there is
//! int16. The named targets planned from anywhere (`aarch64-unknown-linux-gnu:cortex-a53`,
//! `:neoverse-n1`, `:+dotprod,+i8mm`) must decide exactly as the host does. Every plan's
//! run equals the reference. Elsewhere than aarch64 the test says it was skipped; on an
//! aarch64 machine without `QEMU_CPU` the tier is what the CPU reports.

mod common;

use qnn_ir::*;
use qnn_legalize::{Capability, CostModel, LoweringPolicy, Target, legalize};
use qnn_runtime::{CompileOptions, Compiler, Exec};

use common::{tensor, values};

/// u8 `[1,16,5,6]` (zero point 3) → conv 3×3 16→32 → depthwise 3×3 ×32 (pad 1) → flatten
/// → dense 384→40, s8 symmetric weights, float requantize to u8 after each.
fn dispatch_net() -> Graph {
    let mut b = GraphBuilder::new("arm_dispatch");
    let x = b.input("x", TensorType::new(DType::U8, [1, 16, 5, 6])).unwrap();
    let act = QuantParams::per_tensor(0.05, 0);
    let weights = QuantParams::per_tensor(0.01, 0);
    let rq = |b: &mut GraphBuilder, name: &str, y, scale: f32| {
        let op = Op::QnnRequantize {
            input: QuantParams::per_tensor(scale, 0),
            output: QuantParams::per_tensor(0.05, 0),
            rounding: Rounding::Float,
            out_dtype: DType::U8,
        };
        b.node(name, op, &[y]).unwrap()
    };
    let w = tensor(DType::I8, &[32, 16, 3, 3], values(32 * 144, 1, -127, 127));
    let w = b.constant("conv.w", w).unwrap();
    let input = QuantParams::per_tensor(0.02, 3);
    let op = Op::QnnConv2d { conv: Conv2dAttrs::default(), input, kernel: weights.clone() };
    let y = b.node("conv", op, &[x, w]).unwrap();
    let y = rq(&mut b, "conv.rq", y, 2e-4);
    let w = b.constant("dw.w", tensor(DType::I8, &[32, 1, 3, 3], values(288, 2, -127, 127)));
    let conv = Conv2dAttrs { padding: [1; 4], groups: 32, ..Conv2dAttrs::default() };
    let op = Op::QnnConv2d { conv, input: act.clone(), kernel: weights.clone() };
    let y = b.node("dw", op, &[y, w.unwrap()]).unwrap();
    let y = rq(&mut b, "dw.rq", y, 1e-3);
    let y = b.node("flatten", Op::Reshape { shape: vec![1, 384] }, &[y]).unwrap();
    let w = b.constant("fc.w", tensor(DType::I8, &[40, 384], values(40 * 384, 3, -127, 127)));
    let op = Op::QnnDense { input: act, kernel: weights };
    let y = b.node("fc", op, &[y, w.unwrap()]).unwrap();
    let y = rq(&mut b, "fc.rq", y, 5e-4);
    b.output(y);
    b.finish().unwrap()
}

fn dispatch_input() -> Tensor {
    tensor(DType::U8, &[1, 16, 5, 6], values(480, 9, 0, 255))
}

/// The CPU tiers of ARCHITECTURE.md §7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Neon,
    Dotprod,
    I8mm,
}

impl Tier {
    /// The named target that describes this tier.
    fn named_target(self) -> &'static str {
        match self {
            Tier::Neon => "aarch64-unknown-linux-gnu:cortex-a53",
            Tier::Dotprod => "aarch64-unknown-linux-gnu:neoverse-n1",
            Tier::I8mm => "aarch64-unknown-linux-gnu:+dotprod,+i8mm",
        }
    }
}

/// The tier of this CPU: the one `QEMU_CPU` names (checked against the run-time feature
/// probes), else the detected one; `None` off aarch64.
fn tier() -> Option<Tier> {
    #[cfg(target_arch = "aarch64")]
    {
        let detected = match (
            std::arch::is_aarch64_feature_detected!("dotprod"),
            std::arch::is_aarch64_feature_detected!("i8mm"),
        ) {
            (false, _) => Tier::Neon,
            (true, false) => Tier::Dotprod,
            (true, true) => Tier::I8mm,
        };
        let cpu = std::env::var("QEMU_CPU").unwrap_or_default();
        let named = match cpu.as_str() {
            "cortex-a53" => Tier::Neon,
            "neoverse-n1" => Tier::Dotprod,
            "max" => Tier::I8mm,
            _ => {
                eprintln!(
                    "QEMU_CPU={cpu:?} is not one of the three tiers: the detected {detected:?}"
                );
                return Some(detected);
            }
        };
        assert_eq!(detected, named, "QEMU_CPU={cpu} must probe as {named:?}");
        Some(named)
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        eprintln!("SKIPPED: the Arm dispatch tiers are checked on aarch64 (under qemu in CI)");
        None
    }
}

/// (step, backend, lowering, kernel, widened) of each fused op of the host plan.
type Row = (String, String, String, String, bool);

/// Compiles the net for the host with `policy`, checks its run against the reference and
/// that the named target of `tier` decides as the host does; returns the fused steps.
fn host_plan(tier: Tier, policy: impl LoweringPolicy + Clone + 'static) -> Vec<Row> {
    let g = dispatch_net();
    let m = Compiler::new(CompileOptions::new().policy(policy.clone())).compile(&g).unwrap();
    let x = [dispatch_input()];
    assert_eq!(m.run(&x).unwrap(), reference::run(&g, &x).unwrap(), "{}", m.report());
    let r = m.report();
    let named: Target = tier.named_target().parse().unwrap();
    let on_named = legalize(&g, &named, &policy).unwrap().explanation;
    let on_host = r.legalization.as_ref().expect("compiled from a QNN graph");
    for (h, n) in on_host.ops.iter().zip(&on_named.ops) {
        let decision =
            |o: &qnn_legalize::OpReport| (o.lowering, o.backend.clone(), o.operands.clone());
        assert_eq!(decision(h), decision(n), "{}: host vs {}", h.node, tier.named_target());
    }
    assert_eq!(r.count(Exec::Reference), 0, "{r}");
    let rows: Vec<Row> = r
        .steps
        .iter()
        .filter(|s| s.exec == Exec::Kernel)
        .map(|s| {
            let f = |o: &Option<String>| o.clone().unwrap_or_default();
            let widened = s.note.contains("widened");
            (s.step.clone(), f(&s.backend), f(&s.lowering), f(&s.kernel), widened)
        })
        .collect();
    for row in &rows {
        eprintln!("{tier:?} {}: {row:?}", policy.name());
    }
    rows
}

fn row(step: &str, backend: &str, lowering: &str, kernel: &str, widened: bool) -> Row {
    (step.into(), backend.into(), lowering.into(), kernel.into(), widened)
}

#[test]
fn the_runtime_plans_each_arm_tier() {
    let Some(tier) = tier() else { return };
    let (neon, dot) = ("arm-neon", "arm-dotprod");
    let (i16, i8) = ("int16-upcast", "int8-terms");
    let expected = match tier {
        Tier::Neon => [
            row("conv", neon, i16, "neon_gemm_i16_4x16", false),
            row("dw", neon, i8, "neon_dw_i16_16", true),
            row("fc", neon, i8, "neon_gemm_i16_1x32", true),
        ],
        Tier::Dotprod => [
            row("conv", dot, i8, "dotprod_gemm_s8s8_4x16c4", false),
            row("dw", dot, i8, "dotprod_dw_s8s8_16", false),
            row("fc", dot, i8, "dotprod_gemm_s8s8_1x32c4", false),
        ],
        Tier::I8mm => [
            row("conv", dot, i8, "i8mm_gemm_s8s8_6x16c8", false),
            row("dw", dot, i8, "dotprod_dw_s8s8_16", false),
            row("fc", dot, i8, "dotprod_gemm_s8s8_1x32c4", false),
        ],
    };
    assert_eq!(host_plan(tier, CostModel::new()), expected, "{tier:?}, cost model");
}

/// TVM's capability rule: no dot product → int16 for every layer; with one, int8.
#[test]
fn the_capability_rule_on_each_arm_tier() {
    let Some(tier) = tier() else { return };
    let rows = host_plan(tier, Capability);
    assert_eq!(rows.len(), 3);
    for (step, backend, lowering, kernel, widened) in rows {
        let want = match tier {
            Tier::Neon => ("arm-neon", "int16-upcast", "neon_"),
            Tier::Dotprod => ("arm-dotprod", "int8-terms", "dotprod_"),
            Tier::I8mm => {
                ("arm-dotprod", "int8-terms", if step == "conv" { "i8mm_" } else { "dotprod_" })
            }
        };
        assert_eq!((backend.as_str(), lowering.as_str()), (want.0, want.1), "{step}");
        assert!(kernel.starts_with(want.2) && !widened, "{step}: {kernel}");
    }
}

/// The decisions behind the table, from the named targets on any host: lowering, backend
/// and operand dtypes of each layer per tier (what the host plan on aarch64 must agree with).
#[test]
fn the_named_arm_targets_decide_per_tier() {
    assert!(qnn_runtime::registered_backends().contains(&"arm-neon"));
    let g = dispatch_net();
    for tier in [Tier::Neon, Tier::Dotprod, Tier::I8mm] {
        let target: Target = tier.named_target().parse().unwrap();
        let e = legalize(&g, &target, &CostModel::new()).unwrap().explanation;
        let got: Vec<(String, String, String)> = e
            .ops
            .iter()
            .map(|o| (o.lowering.to_string(), o.backend.clone(), o.operands.join("×")))
            .collect();
        let d = |l: &str, b: &str, o: &str| (l.to_string(), b.to_string(), o.to_string());
        let want = match tier {
            Tier::Neon => [
                d("int16-upcast", "arm-neon", "i16×i16"),
                d("int8-terms", "arm-neon", "u8×i8"),
                d("int8-terms", "arm-neon", "u8×i8"),
            ],
            Tier::Dotprod | Tier::I8mm => [
                d("int8-terms", "arm-dotprod", "i8×i8"),
                d("int8-terms", "arm-dotprod", "i8×i8"),
                d("int8-terms", "arm-dotprod", "i8×i8"),
            ],
        };
        assert_eq!(got, want, "{tier:?}\n{e}");
    }
}
