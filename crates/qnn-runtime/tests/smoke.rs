//! The small conv net end to end, and its plan report.

mod common;

use common::nets::{small_convnet, small_convnet_input};
use qnn_ir::reference;
use qnn_runtime::{CompileOptions, Compiler, Exec, PlanReport};

#[test]
fn small_convnet_matches_the_reference() {
    let g = small_convnet();
    for threads in [1, 2, 3] {
        let m = Compiler::new(CompileOptions::new().threads(threads)).compile(&g).unwrap();
        assert_eq!(m.threads(), threads);
        for seed in 0..3 {
            let x = [small_convnet_input(seed)];
            assert_eq!(m.run(&x).unwrap(), reference::run(&g, &x).unwrap(), "{}", m.report());
        }
    }
}

#[test]
fn the_plan_report_says_what_runs_each_op() {
    let m = Compiler::new(CompileOptions::new()).compile(&small_convnet()).unwrap();
    let r = m.report();
    // conv1, dw, pw and fc are fused ops on registered kernels; nothing needs the reference.
    let convs: Vec<&str> =
        r.steps.iter().filter(|s| s.exec == Exec::Kernel).map(|s| s.step.as_str()).collect();
    assert_eq!(convs, ["conv1", "dw", "pw", "fc+logits"]);
    assert_eq!(r.count(Exec::Reference), 0, "{r}");
    for s in r.steps.iter().filter(|s| s.exec == Exec::Kernel) {
        assert!(s.backend.is_some() && s.kernel.is_some() && s.lowering.is_some(), "{s:?}");
        assert!(s.fused.iter().any(|f| f.starts_with("requantize")), "{s:?}");
    }
    // (On Arm dotprod the u8 → s8 shift of conv1's data is a lookup step named after it.)
    let conv1 = r.steps.iter().find(|s| s.step == "conv1" && s.exec == Exec::Kernel).unwrap();
    assert!(conv1.fused.contains(&"clip [0, 120]".to_string()), "{conv1:?}");
    assert!(conv1.output.ends_with("NHWC"), "{conv1:?}");
    // One conversion to NHWC after the input, one back before the flatten: nowhere else,
    // and both fused into the stores of the element-wise steps before them.
    assert!(r.steps.iter().all(|s| s.op != "transpose"), "{r}");
    let quant = r.steps.iter().find(|s| s.step.split('+').next() == Some("quant")).unwrap();
    let gap = r.steps.iter().find(|s| s.step == "gap" && s.op.starts_with("element-wise")).unwrap();
    assert!(quant.output.ends_with("NHWC") && quant.note.contains("transposed"), "{quant:?}");
    assert!(gap.note.contains("transposed") && !gap.output.ends_with("NHWC"), "{gap:?}");
    // The float qnn.add (its chain of casts, fma, round) runs as one QLinearAdd kernel.
    let residual = r.step("residual").unwrap();
    assert_eq!(residual.exec, Exec::DataKernel);
    assert!(residual.op == "qlinear-add" && residual.kernel.is_some(), "{residual:?}");
    // Printable, and JSON that reads back.
    let text = r.to_string();
    assert!(text.contains(conv1.kernel.as_deref().unwrap()), "{text}");
    assert!(text.contains("0 on the reference"), "{text}");
    assert_eq!(&PlanReport::from_json(&r.to_json()).unwrap(), r);
    assert!(r.legalization.as_ref().is_some_and(|e| e.ops.len() == 4));
}
