//! The `Measured` policy: it measures what its cache lacks, reuses what it has for the same
//! machine, falls back to the cost model for what it cannot measure, and its explanation
//! shows measured times next to the cost model's estimates.

mod common;

use common::{FAST, conv_graph, temp_file};
use qnn_legalize::explain::OpReport;
use qnn_legalize::{CostModel, Explanation, Target, legalize};
use qnn_runtime::{CompileOptions, Compiler};
use qnn_tune::{DecisionCache, MachineKey, Measured};

fn decide(policy: &Measured, target: &Target) -> OpReport {
    let ex = legalize(&conv_graph("conv", 128), target, policy).expect("legalizes").explanation;
    assert_eq!(ex.ops.len(), 1);
    ex.ops.into_iter().next().unwrap()
}

fn backends() -> usize {
    Target::host().backends().len()
}

#[test]
fn cache_file_round_trip_reuses_the_measurements() {
    let path = temp_file("round-trip.json");
    let first = Measured::with_cache_file(&path).unwrap().settings(FAST);
    let a = decide(&first, &Target::host());
    assert_eq!(first.measurements(), backends(), "one measurement per backend");
    assert_eq!(first.save_error(), None);
    // The file holds exactly what the policy has, and parses back equal.
    let on_disk = DecisionCache::load(&path).unwrap();
    assert_eq!(on_disk, first.cache());
    assert_eq!(on_disk.entries.len(), backends());
    for e in &on_disk.entries {
        assert_eq!(e.machine, MachineKey::host());
        assert_eq!(e.signature.node, "", "the key has no node name");
        assert_eq!(e.first_node, "conv");
        assert_eq!(e.threads, 1);
        assert!(e.lowerings.iter().all(|m| m.sample.median_ns > 0.0 && m.sample.runs == 1));
        let fastest =
            e.lowerings.iter().min_by(|x, y| x.sample.median_ns.total_cmp(&y.sample.median_ns));
        assert_eq!(Some(e.fastest), fastest.map(|m| m.lowering));
    }

    // A second policy on the same file measures nothing and decides the same, from the same
    // times.
    let second = Measured::with_cache_file(&path).unwrap().settings(FAST);
    let b = decide(&second, &Target::host());
    assert_eq!(second.measurements(), 0);
    assert_eq!((a.backend.as_str(), a.lowering), (b.backend.as_str(), b.lowering));
    let times = |r: &OpReport| r.estimates.iter().map(|e| e.measured_ns).collect::<Vec<_>>();
    assert_eq!(times(&a), times(&b));
    // Another op of the same shape (another node name) is a cache hit too.
    let other = legalize(&conv_graph("another", 128), &Target::host(), &second).unwrap();
    assert_eq!(second.measurements(), 0, "{}", other.explanation);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn another_machine_threads_or_signature_is_measured_again() {
    let path = temp_file("mismatch.json");
    let elsewhere = MachineKey { cpu: "Some Other CPU".into(), ..MachineKey::host() };
    let foreign =
        Measured::with_cache_file(&path).unwrap().settings(FAST).machine(elsewhere.clone());
    decide(&foreign, &Target::host());
    assert_eq!(foreign.measurements(), backends());

    // This machine does not reuse the other machine's times, and keeps them in the file.
    let here = Measured::with_cache_file(&path).unwrap().settings(FAST);
    decide(&here, &Target::host());
    assert_eq!(here.measurements(), backends());
    let cache = DecisionCache::load(&path).unwrap();
    assert_eq!(cache.entries.len(), 2 * backends());
    assert_eq!(cache.entries.iter().filter(|e| e.machine == elsewhere).count(), backends());

    // Other threads: measured again.
    let two = Measured::with_cache_file(&path)
        .unwrap()
        .settings(qnn_tune::MeasureSettings { threads: 2, ..FAST });
    decide(&two, &Target::host());
    assert_eq!(two.measurements(), backends());

    // Another zero point is another signature.
    let again = Measured::with_cache_file(&path).unwrap().settings(FAST);
    legalize(&conv_graph("conv", 77), &Target::host(), &again).unwrap();
    assert_eq!(again.measurements(), backends());
    let _ = std::fs::remove_file(&path);
}

#[test]
fn what_cannot_be_measured_is_decided_by_the_cost_model() {
    let cost = decide_with_cost_model(&Target::host());
    // Measuring off and nothing cached.
    let cache_only = Measured::new().settings(FAST).cache_only();
    let r = decide(&cache_only, &Target::host());
    assert_eq!(cache_only.measurements(), 0);
    assert_eq!((r.backend.as_str(), r.lowering), (cost.backend.as_str(), cost.lowering));
    assert!(r.estimates.iter().all(|e| e.measured_ns.is_none()));
    assert!(r.reason.starts_with("not measured"), "{}", r.reason);

    // A named target is another machine: never measured.
    let named: Target = "aarch64-unknown-linux-gnu:cortex-a53".parse().unwrap();
    let measuring = Measured::new().settings(FAST);
    let r = decide(&measuring, &named);
    let cost = decide_with_cost_model(&named);
    assert_eq!(measuring.measurements(), 0);
    assert_eq!((r.backend.as_str(), r.lowering), (cost.backend.as_str(), cost.lowering));
    assert!(r.estimates.iter().all(|e| e.measured_ns.is_none()));

    // A cache that covers only some backends, measuring off: the cost model decides.
    let full = Measured::new().settings(FAST);
    decide(&full, &Target::host());
    let mut partial = full.cache();
    partial.entries.truncate(1);
    if backends() > 1 {
        let p = Measured::with_cache(partial).settings(FAST).cache_only();
        let r = decide(&p, &Target::host());
        assert!(r.reason.starts_with("not measured"), "{}", r.reason);
        assert!(r.estimates.iter().any(|e| e.measured_ns.is_some()));
    }
}

fn decide_with_cost_model(target: &Target) -> OpReport {
    let ex = legalize(&conv_graph("conv", 128), target, &CostModel::new()).unwrap().explanation;
    ex.ops.into_iter().next().unwrap()
}

#[test]
fn the_explanation_has_measured_times_next_to_the_estimates() {
    let policy = Measured::new().settings(FAST);
    let ex = legalize(&conv_graph("conv", 128), &Target::host(), &policy).unwrap().explanation;
    let cost = decide_with_cost_model(&Target::host());
    let op = &ex.ops[0];
    assert!(ex.policy.starts_with("measured("), "{}", ex.policy);
    assert_eq!(op.estimates.len(), cost.estimates.len(), "one estimate per candidate");
    for (e, c) in op.estimates.iter().zip(&cost.estimates) {
        assert_eq!((&e.backend, e.lowering), (&c.backend, c.lowering));
        assert_eq!(e.cycles, c.cycles, "the cost model's estimate is kept");
        assert!(e.measured_ns.is_some_and(|t| t > 0.0), "{e:?}");
    }
    // The choice is the candidate with the lowest measured time.
    let fastest = op
        .estimates
        .iter()
        .min_by(|a, b| a.measured_ns.unwrap().total_cmp(&b.measured_ns.unwrap()))
        .unwrap();
    assert_eq!((&op.backend, op.lowering), (&fastest.backend, fastest.lowering));
    // The times survive the JSON form of the explanation.
    let back = Explanation::from_json(&ex.to_json()).unwrap();
    assert_eq!(back, ex);
}

#[test]
fn a_model_compiled_with_the_measured_policy_is_exact() {
    let g = conv_graph("conv", 3);
    let (_, x) = qnn_tune::single_op::single_op_model(&common::conv_sig("conv", 3), 3).unwrap();
    let opts = CompileOptions::new().policy(Measured::new().settings(FAST)).threads(1);
    let m = Compiler::new(opts).compile(&g).unwrap();
    let got = m.run(std::slice::from_ref(&x)).unwrap();
    let want = qnn_ir::reference::run(&g, std::slice::from_ref(&x)).unwrap();
    assert_eq!(got, want);
    assert!(m.report().policy.starts_with("measured("));
}
