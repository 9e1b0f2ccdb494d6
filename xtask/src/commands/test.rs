//! `cargo xtask test [--target TRIPLE] [--cpu NAME] [--quick] [--install] [--no-cross]`.
//!
//! Without `--target`: the host suite (`cargo test --workspace`, clippy with `-D warnings`,
//! `cargo fmt --check`), the third-party backend of [`THIRD_PARTY`] (its own workspace: its
//! tests, clippy, rustfmt and its `qnn targets`), then the crates of [`AARCH64_TEST_PACKAGES`]
//! built for aarch64 and run under qemu once per CPU model of [`QEMU_CPUS`]. With
//! `--target`: only the last part, for that target.
//!
//! Missing tools (the aarch64 target and rustup components, the cross linker, qemu) are
//! installed when this user can (root, or `sudo` without a password), each command printed
//! first; `--no-install` only prints them. A step whose tools could not be installed fails
//! with the commands that would install them.

use std::env;

use anyhow::{Result, bail};

use crate::cli::TestArgs;
use crate::steps::{self, Cmd, Step};
use crate::target::{self, AARCH64, Execution, Prefs};
use crate::tools;

/// The crates whose tests run for aarch64 under emulation, once per CPU model: the oracle
/// (`qnn-ir`), and every crate with code that differs by architecture or CPU feature (kernels,
/// dispatch). Add a crate here when it joins that set; this list is the only place.
pub const AARCH64_TEST_PACKAGES: &[&str] = &[
    "qnn-ir",
    "qnn-legalize",
    "qnn-kernels",
    "backend-template",
    "backend-portable",
    "backend-arm-neon",
    "backend-arm-dotprod",
    // The runtime: the plan per CPU model (tests/arm_dispatch.rs) and whole graphs equal to
    // the x86 host's outputs (tests/cross_arch.rs); its heavy peer-model test runs the
    // ResNet-style models only under emulation.
    "qnn-runtime",
    // LiteRT's fixtures through the runtime on the Arm backends (tests/litert_conformance.rs).
    "qnn-tflite",
];

/// The crates whose x86 dispatch runs a second time under `qemu-x86_64 -cpu max`: a CPU with
/// AVX2 but neither AVX-512 nor AVX-VNNI (an old Intel machine), so the AVX-512 kernels are
/// skipped, loudly, and the fallbacks are what runs.
pub const X86_FALLBACK_TEST_PACKAGES: &[&str] =
    &["qnn-kernels", "backend-x86-vnni", "backend-x86-avx2"];

/// The runner of that step.
pub const X86_FALLBACK_RUNNER: &str = "qemu-x86_64 -cpu max";

/// A backend crate written as a third party writes one: outside the workspace, its own
/// `Cargo.toml` and workspace, path dependencies on qnn's crates. CI builds and tests it
/// from its own manifest (sharing the workspace's target directory, so qnn's crates are
/// built once) and runs its `qnn targets`.
pub const THIRD_PARTY: &str = "examples/third-party-backend";

/// `cargo SUBCOMMAND --manifest-path DIR/Cargo.toml ARGS` for a crate outside the workspace,
/// built in the workspace's target directory.
pub fn outside_cargo(dir: &str, subcommand: &str, args: &[&str]) -> Cmd {
    Cmd::new("cargo")
        .arg(subcommand)
        .args(["--manifest-path", &format!("{dir}/Cargo.toml")])
        .args(args.iter().copied())
        .env("CARGO_TARGET_DIR", "target")
}

/// The steps that check [`THIRD_PARTY`], the first of them at index `first` of the plan.
fn third_party_steps(first: usize, cases: Option<u32>, missing_components: &[&str]) -> Vec<Step> {
    let mut test = outside_cargo(THIRD_PARTY, "test", &[]);
    if let Some(n) = cases {
        test = test.env(CASES_VAR, n.to_string());
    }
    let mut steps = vec![Step::run(format!("third party ({THIRD_PARTY}): cargo test"), test)];
    let clippy = outside_cargo(THIRD_PARTY, "clippy", &["--all-targets", "--", "-D", "warnings"]);
    let fmt = Cmd::new("cargo")
        .args(["fmt", "--manifest-path"])
        .arg(format!("{THIRD_PARTY}/Cargo.toml"))
        .args(["--all", "--check"]);
    for (name, component, cmd) in
        [("clippy -D warnings", "clippy", clippy), ("cargo fmt --check", "rustfmt", fmt)]
    {
        let name = format!("third party: {name}");
        steps.push(if missing_components.contains(&component) {
            Step::cannot_run(name, format!("`{component}` is not installed; install with:\n    rustup component add {component}"))
        } else {
            Step::run(name, cmd)
        });
    }
    let targets = outside_cargo(THIRD_PARTY, "run", &["--quiet", "--bin", "qnn", "--", "targets"]);
    // Built by the test step (the binary is a target of the package).
    steps.push(Step::run("third party: its `qnn targets`", targets).after(first));
    steps
}

/// CPU models for `QEMU_CPU`, one per Arm dispatch tier (ARCHITECTURE.md §7): NEON without
/// dotprod (Raspberry Pi 3 class), dotprod (Graviton 2 class), and dotprod + i8mm.
pub const QEMU_CPUS: &[&str] = &["cortex-a53", "neoverse-n1", "max"];

/// The one CPU of `--quick`: it has every feature, so every kernel tier is compiled and probed.
pub const QUICK_CPU: &str = "max";

/// Cases of a property test that does not choose its own count (proptest's default).
pub const DEFAULT_CASES: u32 = 256;

/// Property tests run `1/EMULATION_CASE_DIVISOR` of their cases under qemu. qemu's user-mode
/// translation runs this integer code roughly 5–20× slower than the host, and the suite runs
/// once per CPU model: at 1/8 each emulated run costs about what the host run does.
pub const EMULATION_CASE_DIVISOR: u32 = 8;

/// `--quick` divides the cases once more by this.
pub const QUICK_CASE_DIVISOR: u32 = 8;

pub const CASES_VAR: &str = "QNN_PROPTEST_CASES";

/// `QNN_PROPTEST_CASES` for a run: `None` leaves each test its own default. `user` is the
/// value the caller set, if any.
pub fn proptest_cases(user: Option<u32>, emulated: bool, quick: bool) -> Option<u32> {
    if !emulated && !quick {
        return user;
    }
    let mut divisor = 1;
    if emulated {
        divisor *= EMULATION_CASE_DIVISOR;
    }
    if quick {
        divisor *= QUICK_CASE_DIVISOR;
    }
    Some((user.unwrap_or(DEFAULT_CASES) / divisor).max(1))
}

/// Reads `QNN_PROPTEST_CASES`: unset or empty is `None`, anything but a positive integer is an
/// error naming the value.
pub fn parse_cases(value: Option<&str>) -> Result<Option<u32>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => bail!("{CASES_VAR} must be a positive integer, got `{v}`"),
        },
    }
}

/// What the plan depends on, found out before it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// rustup components that `cargo fmt`/`cargo clippy` lack.
    pub missing_components: Vec<&'static str>,
    /// How to run for the target, or why it cannot (with the install commands).
    pub execution: Result<Execution, String>,
    /// `QNN_PROPTEST_CASES` as the user set it.
    pub user_cases: Option<u32>,
    /// On an x86-64 host: whether `qemu-x86_64` is installed (`None` on other hosts, where the
    /// x86 fallback step does not apply).
    pub qemu_x86: Option<bool>,
}

/// The CPU models to run under: every tier under emulation, one with `--cpu` or `--quick`, and
/// a single run (no model) on a real runner or natively.
pub fn cpus(args: &TestArgs, execution: &Execution) -> Vec<Option<String>> {
    match (&args.cpu, execution.emulated()) {
        (Some(cpu), _) => vec![Some(cpu.clone())],
        (None, false) => vec![None],
        (None, true) if args.quick => vec![Some(QUICK_CPU.to_string())],
        (None, true) => QEMU_CPUS.iter().map(|c| Some((*c).to_string())).collect(),
    }
}

/// The steps of `cargo xtask test`.
pub fn plan(args: &TestArgs, facts: &Facts) -> Vec<Step> {
    let mut steps = Vec::new();
    if args.target.is_none() {
        let cases = proptest_cases(facts.user_cases, false, args.quick);
        let mut test = Cmd::new("cargo").args(["test", "--workspace"]);
        if let Some(n) = cases {
            test = test.env(CASES_VAR, n.to_string());
        }
        steps.push(Step::run("host: cargo test --workspace", test));
        let clippy = Cmd::new("cargo").args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]);
        let fmt = Cmd::new("cargo").args(["fmt", "--all", "--check"]);
        for (name, component, cmd) in [
            ("host: clippy -D warnings", "clippy", clippy),
            ("host: cargo fmt --check", "rustfmt", fmt),
        ] {
            steps.push(if facts.missing_components.contains(&component) {
                Step::cannot_run(
                    name,
                    format!("`{component}` is not installed; install with:\n    rustup component add {component}"),
                )
            } else {
                Step::run(name, cmd)
            });
        }
        let name = "x86_64 without AVX-512 (qemu-x86_64 -cpu max): x86 backends";
        match facts.qemu_x86 {
            None => {}
            Some(false) => steps.push(Step::cannot_run(
                name,
                "`qemu-x86_64` is not installed; install with:\n    sudo apt-get install qemu-user",
            )),
            Some(true) => {
                let mut cmd = Cmd::new("cargo")
                    .args(["test"])
                    .env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER", X86_FALLBACK_RUNNER);
                for p in X86_FALLBACK_TEST_PACKAGES {
                    cmd = cmd.args(["-p", p]);
                }
                if let Some(n) = proptest_cases(facts.user_cases, true, args.quick) {
                    cmd = cmd.env(CASES_VAR, n.to_string());
                }
                steps.push(Step::run(name, cmd));
            }
        }
        steps.extend(third_party_steps(steps.len(), cases, &facts.missing_components));
    }

    let triple = args.target.as_deref().unwrap_or(AARCH64);
    let execution = match &facts.execution {
        Ok(e) => e,
        Err(why) => {
            steps.push(Step::cannot_run(format!("{triple}: tools"), why.clone()));
            return steps;
        }
    };
    let mut packages = Vec::new();
    for p in AARCH64_TEST_PACKAGES {
        packages.extend(["-p", p]);
    }
    let build_args: Vec<&str> = ["--no-run"].into_iter().chain(packages.iter().copied()).collect();
    let build = steps.len();
    steps.push(Step::run(
        format!("{triple}: build tests"),
        execution.cargo(triple, "test", &build_args, &[]),
    ));

    let cases = proptest_cases(facts.user_cases, execution.emulated(), args.quick);
    for cpu in cpus(args, execution) {
        let mut env = Vec::new();
        if let Some(c) = &cpu {
            env.push(("QEMU_CPU", c.clone()));
        }
        if let Some(n) = cases {
            env.push((CASES_VAR, n.to_string()));
        }
        let name = match &cpu {
            Some(c) => format!("{triple}: tests, QEMU_CPU={c}"),
            None => format!("{triple}: tests"),
        };
        steps.push(Step::run(name, execution.cargo(triple, "test", &packages, &env)).after(build));
    }
    steps
}

/// Runs `cargo xtask test`; true when every step passed.
pub fn run(args: &TestArgs) -> Result<bool> {
    let user_cases = parse_cases(env::var(CASES_VAR).ok().as_deref())?;
    let triple = args.target.clone().unwrap_or_else(|| AARCH64.to_string());
    let prefs = Prefs { no_cross: args.no_cross };

    let mut missing_components =
        if args.target.is_none() { tools::missing_components() } else { Vec::new() };
    let mut probe = tools::probe(&triple)?;
    // Install what is missing whenever this user can, unless told not to.
    let may_install = !args.no_install && (args.install || tools::can_install(probe.root));
    if may_install && !missing_components.is_empty() {
        println!("==> installing the rustup components {}", missing_components.join(", "));
        if let Err(e) = tools::install_components(&missing_components) {
            println!("==> installing failed: {e:#}");
        }
        missing_components = tools::missing_components();
    }
    let mut execution = target::select(&triple, &probe, prefs);
    let mut install_error = None;
    if let Err(missing) = &execution
        && may_install
    {
        println!("==> installing what {triple} needs");
        match tools::install(missing) {
            Ok(()) => {
                probe = tools::probe(&triple)?;
                execution = target::select(&triple, &probe, prefs);
            }
            Err(e) => install_error = Some(format!("installing failed: {e:#}")),
        }
    }
    let execution = execution.map_err(|missing| match &install_error {
        Some(e) => format!("{e}\n{missing}"),
        None => missing.to_string(),
    });

    let banner = match &execution {
        Ok(e) => {
            let mut s = format!("==> {triple}: using {e}");
            if let Some(why) = target::why_not_cross(&triple, &probe, prefs)
                && !matches!(e, Execution::Cross { .. })
            {
                s += &format!(" ({why})");
            }
            if e.emulated() {
                let n = proptest_cases(user_cases, true, args.quick).unwrap_or(DEFAULT_CASES);
                let divisor =
                    EMULATION_CASE_DIVISOR * if args.quick { QUICK_CASE_DIVISOR } else { 1 };
                s += &format!(
                    "\n==> {triple}: emulated; property tests at {CASES_VAR}={n} \
                     ({} / {divisor})",
                    user_cases.unwrap_or(DEFAULT_CASES)
                );
            }
            s
        }
        Err(why) => format!("==> {triple}: cannot build or run: {why}"),
    };
    match &execution {
        Ok(_) => println!("{banner}"),
        // The step that cannot run prints the details; this is the first line of the run.
        Err(_) => println!("==> {triple}: missing tools (the step `{triple}: tools` says which)"),
    }

    let qemu_x86 = (cfg!(target_arch = "x86_64") && args.target.is_none())
        .then(|| tools::which("qemu-x86_64").is_some());
    if qemu_x86 == Some(false) && may_install && tools::which("apt-get").is_some() {
        println!("==> installing qemu-user (qemu-x86_64, for the x86 fallback step)");
        if let Err(e) = tools::install_apt(probe.root, &["qemu-user"]) {
            println!("==> installing failed: {e:#}");
        }
    }
    let qemu_x86 = qemu_x86.map(|_| tools::which("qemu-x86_64").is_some());
    let facts = Facts { missing_components, execution, user_cases, qemu_x86 };
    let records = steps::run_all("cargo xtask test", &plan(args, &facts));
    println!("{banner}");
    Ok(steps::all_passed(&records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::{Action, rendered as commands};
    use crate::target::Runner;

    fn facts(execution: Result<Execution, String>) -> Facts {
        Facts { missing_components: Vec::new(), execution, user_cases: None, qemu_x86: None }
    }

    #[test]
    fn case_scaling() {
        assert_eq!(proptest_cases(None, false, false), None);
        assert_eq!(proptest_cases(Some(1000), false, false), Some(1000));
        assert_eq!(proptest_cases(None, true, false), Some(32));
        assert_eq!(proptest_cases(Some(1000), true, false), Some(125));
        assert_eq!(proptest_cases(None, false, true), Some(32));
        assert_eq!(proptest_cases(None, true, true), Some(4));
        assert_eq!(proptest_cases(Some(3), true, true), Some(1), "never zero cases");
    }

    #[test]
    fn x86_fallback_step_runs_under_qemu_or_says_what_to_install() {
        let run =
            Facts { qemu_x86: Some(true), ..facts(Ok(Execution::Local(Runner::ConfiguredQemu))) };
        let cmds = commands(&plan(&TestArgs::default(), &run));
        assert_eq!(
            cmds[3],
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER='qemu-x86_64 -cpu max' \
             QNN_PROPTEST_CASES=32 cargo test -p qnn-kernels -p backend-x86-vnni -p backend-x86-avx2"
        );
        let missing = Facts { qemu_x86: Some(false), ..run.clone() };
        let cmds = commands(&plan(&TestArgs::default(), &missing));
        assert!(cmds[3].starts_with("cannot:") && cmds[3].contains("qemu-user"), "{}", cmds[3]);
        let other_host = Facts { qemu_x86: None, ..run };
        assert_eq!(commands(&plan(&TestArgs::default(), &other_host)).len(), cmds.len() - 1);
    }

    #[test]
    fn case_variable_is_checked() {
        assert_eq!(parse_cases(None).unwrap(), None);
        assert_eq!(parse_cases(Some(" ")).unwrap(), None);
        assert_eq!(parse_cases(Some("64")).unwrap(), Some(64));
        for bad in ["0", "-3", "many"] {
            let e = parse_cases(Some(bad)).unwrap_err().to_string();
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
    }

    #[test]
    fn default_plan_is_host_then_three_emulated_cpus() {
        let steps =
            plan(&TestArgs::default(), &facts(Ok(Execution::Local(Runner::ConfiguredQemu))));
        let pkgs =
            AARCH64_TEST_PACKAGES.iter().map(|p| format!("-p {p}")).collect::<Vec<_>>().join(" ");
        assert_eq!(
            commands(&steps),
            [
                "cargo test --workspace".to_string(),
                "cargo clippy --workspace --all-targets -- -D warnings".into(),
                "cargo fmt --all --check".into(),
                format!(
                    "CARGO_TARGET_DIR=target cargo test --manifest-path {THIRD_PARTY}/Cargo.toml"
                ),
                format!(
                    "CARGO_TARGET_DIR=target cargo clippy --manifest-path {THIRD_PARTY}/Cargo.toml --all-targets -- -D warnings"
                ),
                format!("cargo fmt --manifest-path {THIRD_PARTY}/Cargo.toml --all --check"),
                format!(
                    "CARGO_TARGET_DIR=target cargo run --manifest-path {THIRD_PARTY}/Cargo.toml --quiet --bin qnn -- targets"
                ),
                format!("cargo test --target aarch64-unknown-linux-gnu --no-run {pkgs}"),
                format!(
                    "QEMU_CPU=cortex-a53 QNN_PROPTEST_CASES=32 cargo test --target aarch64-unknown-linux-gnu {pkgs}"
                ),
                format!(
                    "QEMU_CPU=neoverse-n1 QNN_PROPTEST_CASES=32 cargo test --target aarch64-unknown-linux-gnu {pkgs}"
                ),
                format!(
                    "QEMU_CPU=max QNN_PROPTEST_CASES=32 cargo test --target aarch64-unknown-linux-gnu {pkgs}"
                ),
            ]
        );
        assert_eq!(steps[6].needs, Some(3), "qnn targets after the third party's build");
        assert!(steps[8..].iter().all(|s| s.needs == Some(7)));
    }

    #[test]
    fn target_with_cpu_runs_only_that_cpu() {
        let args = TestArgs {
            target: Some(AARCH64.into()),
            cpu: Some("neoverse-n1".into()),
            ..Default::default()
        };
        let steps = plan(&args, &facts(Ok(Execution::Cross { engine: "docker".into() })));
        assert_eq!(steps.len(), 2);
        let Action::Run(cmd) = &steps[1].action else { panic!("{steps:?}") };
        assert_eq!(cmd.program, "cross");
        assert_eq!(cmd.env_value("QEMU_CPU"), Some("neoverse-n1"));
        assert_eq!(cmd.env_value(CASES_VAR), Some("32"));
    }

    #[test]
    fn user_runner_runs_once_at_full_cases() {
        let args = TestArgs { target: Some(AARCH64.into()), ..Default::default() };
        let f = Facts {
            user_cases: Some(500),
            ..facts(Ok(Execution::Local(Runner::User("ssh-run pi".into()))))
        };
        let steps = plan(&args, &f);
        assert_eq!(steps.len(), 2);
        let Action::Run(cmd) = &steps[1].action else { panic!("{steps:?}") };
        assert_eq!(cmd.env_value("QEMU_CPU"), None);
        assert_eq!(cmd.env_value(CASES_VAR), Some("500"));
    }

    #[test]
    fn quick_runs_one_cpu_and_fewer_cases() {
        let args = TestArgs { quick: true, ..Default::default() };
        let steps = plan(&args, &facts(Ok(Execution::Local(Runner::ConfiguredQemu))));
        let c = commands(&steps);
        assert_eq!(c.len(), 9);
        assert!(c[0].starts_with("QNN_PROPTEST_CASES=32 cargo test --workspace"), "{}", c[0]);
        assert!(c[3].starts_with("CARGO_TARGET_DIR=target QNN_PROPTEST_CASES=32 "), "{}", c[3]);
        assert!(c[8].starts_with("QEMU_CPU=max QNN_PROPTEST_CASES=4 "), "{}", c[8]);
    }

    #[test]
    fn missing_tools_fail_their_steps_but_host_steps_still_run() {
        let f = Facts {
            missing_components: vec!["clippy"],
            ..facts(Err("install with:\n    rustup target add aarch64-unknown-linux-gnu".into()))
        };
        let c = commands(&plan(&TestArgs::default(), &f));
        assert_eq!(c.len(), 8);
        assert_eq!(c[0], "cargo test --workspace");
        assert!(
            c[1].starts_with("cannot: `clippy` is not installed")
                && c[1].ends_with("rustup component add clippy")
        );
        assert_eq!(c[2], "cargo fmt --all --check");
        assert!(c[4].starts_with("cannot: `clippy` is not installed"), "{}", c[4]);
        assert!(c[7].ends_with("rustup target add aarch64-unknown-linux-gnu"));
    }
}
