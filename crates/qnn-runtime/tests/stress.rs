//! Concurrency stress: many threads run compiled models at once — every thread on one shared
//! model first, then every thread on randomly chosen models among many (each usable backend ×
//! lowering × pool size) — for a bounded time, and every output must equal what a
//! single-threaded model (one pool thread, runs one after another) computed for the same
//! input, which in turn equals the reference interpreter.
//!
//! `QNN_STRESS_SECS` sets the duration of each of the two phases (default 1 s in
//! `cargo test`; `cargo xtask stress --time S` runs longer), `QNN_STRESS_THREADS` the number of
//! caller threads (default 8).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::nets::{small_convnet, small_convnet_input};
use common::random_graph::{build, net};
use common::usable_backends;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use qnn_ir::{Graph, Tensor, reference};
use qnn_legalize::Lowering;
use qnn_runtime::{CompileOptions, CompiledModel, Compiler, RuntimeError, Workspace};

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A compiled model with its inputs and the outputs a single-threaded model gave for them.
struct Plan {
    what: String,
    model: CompiledModel,
    inputs: Vec<Tensor>,
    want: Vec<Vec<Tensor>>,
}

/// Graphs with their inputs: the small conv net (quantize → conv, depthwise, pointwise,
/// qnn.add, pools, dense → logits) and random QNN chains (fixed seeds).
fn graphs() -> Vec<(Graph, Vec<Tensor>)> {
    let mut out = vec![(small_convnet(), (0..3).map(small_convnet_input).collect())];
    let mut runner = TestRunner::deterministic();
    while out.len() < 6 {
        let n = net().new_tree(&mut runner).expect("a strategy value").current();
        let (g, x) = build(&n);
        // Chains whose reference overflows have nothing to compare; skip them.
        if reference::run(&g, std::slice::from_ref(&x)).is_err() || g.nodes.len() < 3 {
            continue;
        }
        let mut seeded = n.clone();
        seeded.seed ^= 0x5eed;
        let x2 = build(&seeded).1;
        out.push((g, vec![x, x2]));
    }
    out
}

/// Every compilable (graph, backend, lowering, pool size) with its expected outputs.
fn plans() -> Vec<Plan> {
    let mut plans = Vec::new();
    let lowerings = [None, Some(Lowering::Int8ZeroPointTerms), Some(Lowering::Int16Upcast)];
    for (gi, (g, inputs)) in graphs().into_iter().enumerate() {
        let reference: Vec<Vec<Tensor>> = inputs
            .iter()
            .map(|x| reference::run(&g, std::slice::from_ref(x)).expect("checked above"))
            .collect();
        for backend in usable_backends() {
            for (li, lowering) in lowerings.into_iter().enumerate() {
                let opts = |threads| {
                    CompileOptions::new().backend(Some(backend)).lowering(lowering).threads(threads)
                };
                let single = match Compiler::new(opts(1)).compile(&g) {
                    Ok(m) => m,
                    Err(RuntimeError::Legalize(_)) => continue,
                    Err(e) => panic!("graph {gi} on {backend}: {e}"),
                };
                let want: Vec<Vec<Tensor>> = inputs
                    .iter()
                    .map(|x| single.run(std::slice::from_ref(x)).expect("a single run"))
                    .collect();
                assert_eq!(want, reference, "graph {gi} on {backend} {lowering:?}");
                let pool = [1, 2, 4][(gi + li) % 3];
                let model = Compiler::new(opts(pool)).compile(&g).expect("compiled once already");
                let what = format!("graph {gi} on {backend}, {lowering:?}, {pool} pool threads");
                plans.push(Plan { what, model, inputs: inputs.clone(), want });
            }
        }
    }
    plans
}

/// A small per-thread generator.
fn next(state: &mut u64) -> usize {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (*state >> 33) as usize
}

/// Runs `threads` threads for `secs` seconds, each choosing plans with `pick`; returns the
/// number of runs. Every output is checked.
fn hammer(
    plans: &[Plan],
    threads: usize,
    secs: f64,
    pick: impl Fn(&mut u64) -> usize + Sync,
) -> u64 {
    let runs = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (runs, pick) = (&runs, &pick);
            s.spawn(move || {
                let mut rng = 0x9e37_79b9 ^ t as u64;
                // One workspace per plan, kept across runs (the other half of the runs
                // allocate their own).
                let mut spaces: Vec<Workspace> =
                    plans.iter().map(|_| Workspace::default()).collect();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let p = pick(&mut rng) % plans.len();
                    let plan = &plans[p];
                    let k = next(&mut rng) % plan.inputs.len();
                    let x = std::slice::from_ref(&plan.inputs[k]);
                    let got = if i.is_multiple_of(2) {
                        plan.model.run(x)
                    } else {
                        plan.model.run_with(&mut spaces[p], x)
                    };
                    let got =
                        got.unwrap_or_else(|e| panic!("{}: thread {t} run {i}: {e}", plan.what));
                    assert!(
                        got == plan.want[k],
                        "{}: thread {t} run {i}, input {k} differs",
                        plan.what
                    );
                    i += 1;
                }
                runs.fetch_add(i, Ordering::Relaxed);
            });
        }
    });
    runs.into_inner()
}

#[test]
fn concurrent_runs_of_one_and_of_many_plans_equal_single_threaded_runs() {
    let secs: f64 = env_or("QNN_STRESS_SECS", 1.0);
    let threads: usize = env_or("QNN_STRESS_THREADS", 8);
    let plans = plans();
    assert!(plans.len() >= 6, "only {} plans", plans.len());
    // Phase 1: every thread on the plan with the most steps, one shared model.
    let busiest = (0..plans.len())
        .max_by_key(|&i| (plans[i].model.report().steps.len(), plans[i].model.threads()))
        .unwrap_or(0);
    let one = hammer(&plans, threads, secs, |_| busiest);
    // Phase 2: every thread on random plans, many models at once.
    let many = hammer(&plans, threads, secs, next);
    println!(
        "stress: {threads} threads for {secs} s on one plan ({}): {one} runs; \
         then on {} plans at once: {many} runs; every output equal to the single-threaded run",
        plans[busiest].what,
        plans.len()
    );
    assert!(one > 0 && many > 0);
}
