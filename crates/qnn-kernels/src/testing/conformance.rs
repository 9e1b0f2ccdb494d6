//! The bodies of the tests [`conformance_tests!`](crate::conformance_tests) generates.

use std::io::Write;

use proptest::test_runner::{Config, TestCaseError, TestRunner};
use qnn_ir::backend::{KernelEntry, registry};

use super::check_case;
use super::strategies::{Topic, cases, tail_sweep};
use crate::layer::applicable;
use crate::threads::ThreadPool;

/// Property-test cases per test: `QNN_PROPTEST_CASES` when set, else `default`.
pub fn case_count(default: u32) -> u32 {
    std::env::var("QNN_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The registered kernel `name` of `backend`; panics (failing the test) when it is missing,
/// which is what a test that forgot `use backend_x as _;` would see.
pub fn registered(backend: &str, name: &str) -> &'static KernelEntry {
    registry::kernels_of(backend).into_iter().find(|k| k.name == name).unwrap_or_else(|| {
        panic!(
            "kernel `{name}` of backend `{backend}` is not registered (is the backend crate named with `use … as _;`?)"
        )
    })
}

/// True when `entry` can run here. Otherwise prints why, loudly, and returns false — or
/// panics when `QNN_REQUIRE_ALL_KERNELS=1` says every kernel must run.
pub fn runnable(entry: &KernelEntry) -> bool {
    let backend_probe =
        registry::backend(entry.backend).map_or(Ok(()), |b| b.probe()).and_then(|()| entry.probe());
    match backend_probe {
        Ok(()) => true,
        Err(why) => {
            let require = std::env::var("QNN_REQUIRE_ALL_KERNELS").is_ok_and(|v| v == "1");
            assert!(
                !require,
                "kernel `{}` cannot run on this CPU ({why}) and QNN_REQUIRE_ALL_KERNELS=1",
                entry.name
            );
            // Straight to the process's stderr: the test harness captures `eprintln!` of a
            // passing test, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: conformance of kernel `{}` ({}): {why}. Set QNN_REQUIRE_ALL_KERNELS=1 to make this a failure.",
                entry.name,
                entry.backend
            );
            false
        }
    }
}

/// Runs `cases` random cases of `topic` on `entry`, each with one and with two threads.
pub fn property(entry: &KernelEntry, topic: Topic, default_cases: u32) {
    if !runnable(entry) {
        return;
    }
    let one = ThreadPool::new(1);
    let two = ThreadPool::new(2);
    let config =
        Config { cases: case_count(default_cases), failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&cases(entry, topic), |case| {
        // A case the kernel cannot take by design (e.g. an i16 kernel and u8 weights beyond
        // it) is not generated; anything that fails here is a bug.
        applicable(entry, &case.lowered().problem)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_case(entry, &case, &[&one, &two]).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("conformance of `{}` ({topic:?}): {e}", entry.name);
    }
}

/// Every case of [`tail_sweep`] (each row, column and reduction tail of the kernel's tile,
/// or each channel tail of its block), with one and with two threads.
pub fn every_tail(entry: &KernelEntry) {
    if !runnable(entry) {
        return;
    }
    let one = ThreadPool::new(1);
    let two = ThreadPool::new(2);
    let sweep = tail_sweep(entry);
    for (i, case) in sweep.iter().enumerate() {
        if let Err(e) = applicable(entry, &case.lowered().problem) {
            panic!(
                "tail case {i} of `{}` is not applicable: {e}\n  {}",
                entry.name,
                case.describe()
            );
        }
        if let Err(e) = check_case(entry, case, &[&one, &two]) {
            panic!("tail case {i} of {} of `{}`: {e}", sweep.len(), entry.name);
        }
    }
}

/// The same layers on pools of 1, 2, 3 and 4 threads give identical, correct bytes.
pub fn thread_count_invariance(entry: &KernelEntry, default_cases: u32) {
    if !runnable(entry) {
        return;
    }
    let pools: Vec<ThreadPool> = (1..=4).map(ThreadPool::new).collect();
    let refs: Vec<&ThreadPool> = pools.iter().collect();
    let config =
        Config { cases: case_count(default_cases), failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&cases(entry, Topic::Deep), |case| {
        check_case(entry, &case, &refs).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("thread-count invariance of `{}`: {e}", entry.name);
    }
}

/// Generates the conformance suite of one kernel: a module `$name` of tests that run the
/// kernel (an expression giving a `&'static KernelEntry`) against the reference
/// interpreter on random layers — tile tails, every epilogue, edge zero points, first
/// layers, long reductions, extreme values — and on a deterministic sweep of every row,
/// column and reduction tail of its tile, and check that the thread count never changes a
/// bit. A kernel this CPU cannot run is skipped with a message on stderr; with
/// `QNN_REQUIRE_ALL_KERNELS=1` the skip is a failure. `QNN_PROPTEST_CASES` sets the number
/// of cases of each test.
///
/// ```text
/// use backend_x86_vnni as _;
/// qnn_kernels::conformance_tests!(
///     vnni_gemm_u8s8_6x64,
///     qnn_kernels::testing::conformance::registered("x86-vnni", "vnni_gemm_u8s8_6x64")
/// );
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($name:ident, $entry:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::testing::conformance::{property, thread_count_invariance};
            use $crate::testing::strategies::Topic;

            fn entry() -> &'static $crate::__private::KernelEntry {
                $entry
            }

            #[test]
            fn random_layers() {
                property(entry(), Topic::Random, 48);
            }

            #[test]
            fn tails() {
                property(entry(), Topic::Tails, 48);
            }

            #[test]
            fn every_tail_size() {
                $crate::testing::conformance::every_tail(entry());
            }

            #[test]
            fn first_layers() {
                property(entry(), Topic::FirstLayer, 16);
            }

            #[test]
            fn epilogues_and_ties() {
                property(entry(), Topic::Epilogues, 96);
            }

            #[test]
            fn long_reductions() {
                property(entry(), Topic::Deep, 8);
            }

            #[test]
            fn extreme_values() {
                property(entry(), Topic::Extremes, 24);
            }

            #[test]
            fn thread_count_never_changes_a_bit() {
                thread_count_invariance(entry(), 4);
            }
        }
    };
}
