//! Calibration: every usable backend gets a fitted rate for each kernel class (timed on its
//! own kernels, or on the fallback where it has none), the file round-trips, and the cost
//! model uses the fitted figures.

mod common;

use common::FAST;
use qnn_ir::backend::{KernelClass, registry};
use qnn_legalize::policy::Calibration;
use qnn_legalize::{CostModel, Target, legalize};
use qnn_tune::calibrate::calibration_shapes;
use qnn_tune::{MachineKey, calibrate};

#[test]
fn every_usable_backend_gets_its_classes_and_the_cost_model_uses_them() {
    let run = calibrate(&FAST, |_| {}).unwrap();
    let cal = &run.calibration;
    assert_eq!(cal.machine, MachineKey::host().to_string());
    assert!(cal.clock_ghz.is_finite() && cal.clock_ghz > 0.0, "{}", cal.clock_ghz);
    for d in Target::host().backends() {
        let own: Vec<KernelClass> = registry::kernels_of(d.name).iter().map(|k| k.class).collect();
        for class in [
            KernelClass::Int8Gemm,
            KernelClass::Int16Gemm,
            KernelClass::Int8Depthwise,
            KernelClass::Int16Depthwise,
        ] {
            // Every class is fitted: on the backend's kernels, or where the runtime falls back.
            let rate = cal.rate(d.name, class);
            assert!(
                rate.is_some_and(|r| r.is_finite() && r > 0.0),
                "{} {}: {rate:?}",
                d.name,
                class.as_str()
            );
            let (r, fitted) = Calibration::rate_or_descriptor(Some(cal), d, class).unwrap();
            assert!(fitted && Some(r) == rate);
            let points: Vec<_> = run
                .points
                .iter()
                .filter(|p| p.backend == d.name && p.class == class.as_str())
                .collect();
            assert!(!points.is_empty());
            if !own.contains(&class) {
                assert!(points.iter().all(|p| p.ran_on != d.name), "{points:?}");
            }
        }
    }
    // Each point is a calibration shape timed on the backend's own kernel.
    let shapes: Vec<String> = calibration_shapes().into_iter().map(|s| s.node).collect();
    assert!(!run.points.is_empty());
    for p in &run.points {
        assert!(shapes.contains(&p.shape) && p.median_ns > 0.0, "{p:?}");
    }

    let back = Calibration::from_json(&cal.to_json()).unwrap();
    assert_eq!(&back, cal);
    let wrong =
        cal.to_json().replace(qnn_legalize::policy::calibration::CALIBRATION_FORMAT, "other/9");
    assert!(Calibration::from_json(&wrong).unwrap_err().contains("other/9"));

    // The calibrated cost model names the machine and estimates with the fitted rates.
    let g = common::conv_graph("conv", 128);
    let ex = legalize(&g, &Target::host(), &CostModel::new().calibrated(cal.clone()))
        .unwrap()
        .explanation;
    assert!(ex.policy.contains("calibrated on"), "{}", ex.policy);
    let sig = &ex.ops[0].signature;
    for e in &ex.ops[0].estimates {
        let d = registry::backend(&e.backend).unwrap();
        let class = if e.lowering == qnn_legalize::Lowering::Int16Upcast {
            KernelClass::Int16Gemm
        } else {
            KernelClass::Int8Gemm
        };
        if let (Some(cycles), Some(rate)) = (e.cycles, cal.rate(d.name, class)) {
            assert!(
                cycles >= sig.macs as f64 / rate * 0.999,
                "{e:?}: main term {}",
                sig.macs as f64 / rate
            );
        }
    }
}
