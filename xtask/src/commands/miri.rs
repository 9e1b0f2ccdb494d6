//! `cargo xtask miri`: the tests of the reference interpreter and the IR (text parser
//! included), `qnn-ir`, and of the ONNX importer's parsing, `qnn-onnx`, under Miri — undefined
//! behaviour, out-of-bounds accesses, invalid values and leaks in these crates and in what they
//! call (ndarray, prost). The SIMD kernels are not run: Miri does not execute most vendor
//! intrinsics, and the backends' conformance suites cover them against the reference.
//!
//! Miri is ~1000× slower than native code: property tests run [`MIRI_CASES`] cases
//! (`QNN_PROPTEST_CASES`), and tests that would take hours under it (whole models, exhaustive
//! sweeps) carry `#[cfg_attr(miri, ignore = "…")]` with the reason. See [`MIRIFLAGS`].

use anyhow::{Result, bail};

use crate::commands::fuzz::{NIGHTLY_INSTALL, has_nightly, nightly};
use crate::steps::{self, Cmd, Step};

/// Property-test cases per test under Miri.
pub const MIRI_CASES: u32 = 4;

/// Isolation off: the importer's tests read their fixture files. Deterministic floats: Miri
/// otherwise adds a few ULPs of random error to `exp`, `powi` and friends (as another libm
/// might), and the reference's exact-f32 tests (softmax, fixed-point multipliers) compare
/// exact values computed with the host's libm.
pub const MIRIFLAGS: &str = "-Zmiri-disable-isolation -Zmiri-deterministic-floats";

/// The crates run under Miri.
pub const PACKAGES: &[&str] = &["qnn-ir", "qnn-onnx"];

/// How to add Miri to nightly when it is missing.
pub const MIRI_INSTALL: &[&str] = &["rustup", "+nightly", "component", "add", "miri", "rust-src"];

/// The steps: one `cargo +nightly miri test` per crate (library and integration tests; the
/// doctests are examples, not parsing code).
pub fn plan() -> Vec<Step> {
    PACKAGES
        .iter()
        .map(|p| {
            let cmd = Cmd::new("cargo")
                .args(["+nightly", "miri", "test", "-p", p, "--lib", "--tests"])
                .env("QNN_PROPTEST_CASES", MIRI_CASES.to_string())
                .env("MIRIFLAGS", MIRIFLAGS)
                // `cargo run` (xtask) pins its children to the stable toolchain.
                .env("RUSTUP_TOOLCHAIN", "nightly");
            Step::run(format!("miri {p}"), cmd)
        })
        .collect()
}

pub fn run() -> Result<bool> {
    if !has_nightly() {
        bail!(
            "Miri needs a nightly toolchain, and `cargo +nightly` does not work here.\n\
             Install it with:\n    {NIGHTLY_INSTALL}\nthen `{}`",
            MIRI_INSTALL.join(" ")
        );
    }
    let has_miri = nightly(&["miri", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_miri {
        let add = Cmd::new(MIRI_INSTALL[0]).args(MIRI_INSTALL[1..].iter().copied());
        println!("==> the miri component is missing; adding it\n    $ {add}");
        add.run().map_err(anyhow::Error::msg)?;
    }
    // `cargo miri setup` builds Miri's standard library once, outside the timed steps.
    let setup = nightly(&["miri", "setup"]).status()?;
    if !setup.success() {
        bail!("`cargo +nightly miri setup` failed");
    }
    let records = steps::run_all("cargo xtask miri", &plan());
    Ok(steps::all_passed(&records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::Action;

    #[test]
    fn one_step_per_crate_with_few_cases_and_file_access() {
        let p = plan();
        assert_eq!(p.len(), PACKAGES.len());
        let Action::Run(c) = &p[1].action else { panic!("{:?}", p[1]) };
        assert_eq!(
            c.to_string(),
            "QNN_PROPTEST_CASES=4 MIRIFLAGS='-Zmiri-disable-isolation -Zmiri-deterministic-floats' \
             RUSTUP_TOOLCHAIN=nightly \
             cargo +nightly miri test -p qnn-onnx --lib --tests"
        );
    }
}
