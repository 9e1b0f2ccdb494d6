//! A calibration replaces the descriptors' figures in the cost model, for the backends and
//! classes it names, and leaves the others alone.

mod common;

use common::net::small_net;
use common::only;
use qnn_legalize::policy::{CalibratedFigures, Calibration};
use qnn_legalize::{CostModel, Lowering, legalize};

fn lowerings(backend: &str, policy: &CostModel) -> Vec<Lowering> {
    let ex = legalize(&small_net(), &only(backend), policy).unwrap().explanation;
    ex.ops.iter().map(|o| o.lowering).collect()
}

fn with_rates(backend: &str, rates: &[(&str, f64)]) -> Calibration {
    let mut cal = Calibration::new("test machine", 3.0);
    let mut f = CalibratedFigures::default();
    for (class, r) in rates {
        f.macs_per_cycle.insert((*class).into(), *r);
    }
    cal.backends.insert(backend.into(), f);
    cal
}

#[test]
fn fitted_rates_decide_and_unnamed_backends_keep_their_figures() {
    // A calibration that measured x86-avx2's int16 kernels very slow turns every op to int8,
    // and one that measured its int8 kernels very slow turns every op to int16.
    let slow_int16 = with_rates("x86-avx2", &[("int16-gemm", 0.01), ("int16-depthwise", 0.01)]);
    let slow_int8 = with_rates("x86-avx2", &[("int8-gemm", 0.01), ("int8-depthwise", 0.01)]);
    let int8 = lowerings("x86-avx2", &CostModel::new().calibrated(slow_int16));
    let int16 = lowerings("x86-avx2", &CostModel::new().calibrated(slow_int8));
    let fast_int8 = with_rates("x86-avx2", &[("int8-gemm", 200.0), ("int8-depthwise", 60.0)]);
    assert!(int8.iter().all(|l| *l == Lowering::Int8ZeroPointTerms), "{int8:?}");
    assert!(int16.iter().all(|l| *l == Lowering::Int16Upcast), "{int16:?}");

    // Another backend is not affected by x86-avx2's figures.
    let plain = lowerings("arm-neon", &CostModel::new());
    assert_eq!(lowerings("arm-neon", &CostModel::new().calibrated(fast_int8.clone())), plain);

    // The estimate of a calibrated class is computed from the fitted rate, and the policy
    // name says whose figures these are.
    let ex = legalize(&small_net(), &only("x86-avx2"), &CostModel::new().calibrated(fast_int8))
        .unwrap()
        .explanation;
    assert!(ex.policy.contains("calibrated on test machine"), "{}", ex.policy);
    let base = legalize(&small_net(), &only("x86-avx2"), &CostModel::new()).unwrap().explanation;
    for (a, b) in ex.ops.iter().zip(&base.ops) {
        for (ea, eb) in a.estimates.iter().zip(&b.estimates) {
            if ea.lowering == Lowering::Int8ZeroPointTerms {
                assert!(ea.cycles.unwrap() < eb.cycles.unwrap(), "{ea:?} vs {eb:?}");
            } else {
                assert_eq!(ea.cycles, eb.cycles, "int16 figures untouched");
            }
        }
    }
}

#[test]
fn calibration_files_round_trip_and_other_formats_are_refused() {
    let cal = with_rates("x86-vnni", &[("int8-gemm", 120.5)]);
    assert_eq!(Calibration::from_json(&cal.to_json()).unwrap(), cal);
    let other = cal.to_json().replace("qnn-cost-calibration/1", "qnn-cost-calibration/0");
    let e = Calibration::from_json(&other).unwrap_err();
    assert!(e.contains("qnn-cost-calibration/0"), "{e}");
}
