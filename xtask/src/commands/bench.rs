//! `cargo xtask bench [--quick] [--target TRIPLE] [--cpu NAME] [--no-run] [--criterion]
//! [--install] [--no-cross] [-- ARGS]`: the main job.
//!
//! Runs the `decisions` bench of `qnn-benches` (per layer and backend, both lowerings timed,
//! what each policy picks and whether it was the fastest; whole models; decision quality;
//! `results.json`, `results.md`, `speedup.svg`) into `target/qnn-bench/KEY/`, where KEY is
//! the target triple (and the emulated CPU). With `--criterion`, the criterion benches too,
//! their data kept in `target/criterion/TRIPLE[/CPU]` (`CRITERION_HOME`), so that host and
//! Arm runs never overwrite each other.
//!
//! `--with PATH` runs the `decisions` bench of a backend crate outside the workspace instead
//! (its `benches/decisions.rs` is `qnn_benches::decisions::main` with its crate named),
//! built in this workspace's target directory, so its backend is timed and judged next to
//! the in-tree ones in the same files; with `--networks`, its `qnn` binary is timed.
//!
//! For another target the binaries are built and run the way [`crate::target::select`]
//! decides (your runner, `cross`, or the cross linker with qemu), with `--cpu` as
//! `QEMU_CPU`; under emulation a banner at the top and bottom says the timings are not
//! representative. `--no-run` builds and prints the binaries with the commands that copy
//! them to a board and run them there.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::cli::BenchArgs;
use crate::steps::{self, Cmd, Step};
use crate::target::{self, Execution, Prefs};
use crate::tools;

/// The CPU an emulated bench runs on without `--cpu`: every feature, so every backend and
/// kernel tier is planned and timed.
pub const EMULATED_DEFAULT_CPU: &str = "max";

/// The criterion benches run with `--criterion`, per architecture.
fn criterion_benches(triple: &str) -> &'static [&'static str] {
    if triple.starts_with("aarch64") {
        &["lowerings", "models", "arm_layers", "arm_peaks"]
    } else {
        &["lowerings", "models", "x86_layers", "x86_microkernels"]
    }
}

/// `x86_64-unknown-linux-gnu`, `aarch64-unknown-linux-gnu-cortex-a53`.
pub fn result_key(triple: &str, cpu: Option<&str>) -> String {
    match cpu {
        Some(c) => format!("{triple}-{c}"),
        None => triple.to_string(),
    }
}

/// Criterion's data directory for a target and CPU, relative to the bench binaries' working
/// directory (`benches/`, the package root).
pub fn criterion_home(triple: &str, cpu: Option<&str>) -> String {
    match cpu {
        Some(c) => format!("../target/criterion/{triple}/{c}"),
        None => format!("../target/criterion/{triple}"),
    }
}

/// What the plan depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub host: String,
    /// The workspace root (absolute): where a `--with` crate's results and build go.
    pub root: String,
    /// How to run for the target (`Native` for the host), or why it cannot (with the install
    /// commands).
    pub execution: Result<Execution, String>,
}

/// The banner printed at the top and bottom of an emulated run.
pub fn emulation_banner(triple: &str, cpu: &str) -> String {
    format!(
        "timings of {triple} under qemu (QEMU_CPU={cpu}) are NOT representative of real \
         hardware: this run checks that every backend, kernel and policy works; time a board \
         with `cargo xtask bench --target {triple} --no-run`"
    )
}

/// The CPU to run under: `--cpu`, else the default one under emulation, else none.
pub fn cpu(args: &BenchArgs, execution: &Execution) -> Option<String> {
    match (&args.cpu, execution.emulated()) {
        (Some(c), _) => Some(c.clone()),
        (None, true) => Some(EMULATED_DEFAULT_CPU.to_string()),
        (None, false) => None,
    }
}

/// Where `cargo xtask bench --networks` writes.
pub const NETWORKS_OUT: &str = "target/qnn-bench/networks";

/// The steps of `cargo xtask bench --networks`: generate the suite (its script sets up the
/// pinned Python environment on first use), build `qnn` and `peaks` in release, then time the
/// engines alternately (`benches/networks/bench_networks.py`, which measures the peaks in the
/// same run).
pub fn networks_plan(args: &BenchArgs) -> Vec<Step> {
    // A third party's `qnn` is built into a folder of its own, next to the in-tree one.
    let qnn = match &args.with {
        Some(_) => "target/third-party/release/qnn",
        None => "target/release/qnn",
    };
    let mut bench = Cmd::new("python3").args([
        "benches/networks/bench_networks.py",
        "--qnn",
        qnn,
        "--peaks-bin",
        "target/release/peaks",
        "--out",
        NETWORKS_OUT,
    ]);
    if args.quick {
        bench = bench.args(["--rounds", "2", "--runs", "10"]);
    }
    bench = bench.args(args.rest.iter().cloned());
    let mut steps = vec![Step::run(
        "networks: generate the suite (benches/networks/generate.py)",
        Cmd::new("python3").arg("benches/networks/generate.py"),
    )];
    if let Some(dir) = &args.with {
        steps.push(Step::run(
            format!("networks: build {dir}'s qnn (release)"),
            Cmd::new("cargo")
                .args(["build", "--release", "--manifest-path"])
                .arg(format!("{dir}/Cargo.toml"))
                .args(["--bin", "qnn"])
                .env("CARGO_TARGET_DIR", "target/third-party"),
        ));
    }
    steps.extend([
        Step::run(
            "networks: build qnn and peaks (release)",
            Cmd::new("cargo").args([
                "build",
                "--release",
                "-p",
                "qnn-cli",
                "-p",
                "qnn-benches",
                "--bin",
                "qnn",
                "--bin",
                "peaks",
            ]),
        ),
        Step::run("networks: qnn, ONNX Runtime and OpenVINO alternating", bench),
    ]);
    steps
}

/// The steps of `cargo xtask bench` (without `--no-run`).
pub fn plan(args: &BenchArgs, facts: &Facts) -> Vec<Step> {
    let triple = args.target.clone().unwrap_or_else(|| facts.host.clone());
    let execution = match &facts.execution {
        Ok(e) => e,
        Err(why) => return vec![Step::cannot_run(format!("{triple}: tools"), why.clone())],
    };
    let cpu = cpu(args, execution);
    let key = result_key(&triple, cpu.as_deref());
    let mut env = vec![("CRITERION_HOME", criterion_home(&triple, cpu.as_deref()))];
    if let Some(c) = &cpu {
        env.push(("QEMU_CPU", c.clone()));
    }
    // The bench runs in its package's folder: `benches/`, or the `--with` crate's.
    let out = match &args.with {
        Some(_) => format!("{}/target/qnn-bench/{key}", facts.root),
        None => format!("../target/qnn-bench/{key}"),
    };
    let mut bench_args: Vec<String> = vec!["--out".into(), out];
    if args.quick || execution.emulated() {
        bench_args.push("--quick".into());
    }
    if execution.emulated() {
        bench_args.push("--emulated".into());
        bench_args.push("--note".into());
        bench_args.push(format!(
            "emulated by qemu (QEMU_CPU={}): timings are not representative",
            cpu.as_deref().unwrap_or("?")
        ));
    }
    bench_args.extend(args.rest.iter().cloned());
    let with_manifest = args.with.as_ref().map(|d| format!("{d}/Cargo.toml"));
    let with_target = format!("{}/target", facts.root);
    let cargo = |extra: &[&str], tail: &[String], with: bool| {
        let mut a: Vec<&str> = match (&with_manifest, with) {
            (Some(m), true) => vec!["--manifest-path", m],
            _ => vec!["-p", "qnn-benches"],
        };
        a.extend_from_slice(extra);
        if !tail.is_empty() {
            a.push("--");
            a.extend(tail.iter().map(String::as_str));
        }
        let mut env = env.clone();
        if with && args.with.is_some() {
            // Outside the workspace: build in its target directory, reusing qnn's crates.
            env.push(("CARGO_TARGET_DIR", with_target.clone()));
        }
        if *execution == Execution::Native {
            let mut c = Cmd::new("cargo").arg("bench").args(a);
            for (k, v) in &env {
                c = c.env(*k, v.as_str());
            }
            c
        } else {
            execution.cargo(&triple, "bench", &a, &env)
        }
    };
    let what = match &args.with {
        Some(dir) => format!("decisions with {dir}'s backend"),
        None => "decisions".to_string(),
    };
    let mut steps = vec![Step::run(
        format!("{key}: {what} (layer suite and models × backends × lowerings × policies)"),
        cargo(&["--bench", "decisions"], &bench_args, true),
    )];
    if args.criterion {
        let mut extra: Vec<&str> = Vec::new();
        for b in criterion_benches(&triple) {
            extra.extend(["--bench", b]);
        }
        steps.push(Step::run(format!("{key}: criterion benches"), cargo(&extra, &[], false)));
    }
    steps
}

/// Finds, in `cargo --message-format=json` output, the bench executables: (name, path).
pub fn bench_executables(json_lines: &str) -> Vec<(String, String)> {
    let field = |line: &str, key: &str| -> Option<String> {
        let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
        let end = line[start..].find('"')?;
        Some(line[start..start + end].to_string())
    };
    json_lines
        .lines()
        .filter(|l| {
            l.contains("\"reason\":\"compiler-artifact\"") && l.contains("\"kind\":[\"bench\"]")
        })
        .filter_map(|l| {
            let target = &l[l.find("\"target\":")?..];
            Some((field(target, "name")?, field(l, "executable")?))
        })
        .collect()
}

/// The commands that copy the bench binaries to a board and run them there.
pub fn board_commands(triple: &str, exes: &[(String, String)]) -> Vec<String> {
    let file =
        |p: &str| Path::new(p).file_name().map_or(p.to_string(), |f| f.to_string_lossy().into());
    let mut out = vec![format!(
        "ssh BOARD mkdir -p qnn-bench && scp {} BOARD:qnn-bench/",
        exes.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(" ")
    )];
    for (name, path) in exes {
        let f = file(path);
        out.push(if name == "decisions" {
            format!("ssh BOARD 'cd qnn-bench && ./{f} --bench --out results'")
        } else {
            format!("ssh BOARD 'cd qnn-bench && CRITERION_HOME=criterion ./{f} --bench'")
        });
    }
    out.push(format!(
        "mkdir -p target/qnn-bench/{triple}-BOARD && scp 'BOARD:qnn-bench/results/*' target/qnn-bench/{triple}-BOARD/"
    ));
    out
}

/// `--no-run`: build the bench binaries for the target and print them, with the commands to
/// copy and run them on a board.
fn no_run(triple: &str, execution: &Execution) -> Result<bool> {
    let mut args =
        vec!["-p", "qnn-benches", "--no-run", "--message-format=json-render-diagnostics"];
    for b in std::iter::once(&"decisions").chain(criterion_benches(triple)) {
        args.extend(["--bench", b]);
    }
    let cmd = if *execution == Execution::Native {
        Cmd::new("cargo").arg("bench").args(args)
    } else {
        execution.cargo(triple, "bench", &args, &[])
    };
    println!("    $ {cmd}");
    let mut c = Command::new(&cmd.program);
    c.args(&cmd.args).stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in &cmd.env {
        c.env(k, v);
    }
    let out = c.output().with_context(|| format!("could not run `{}`", cmd.program))?;
    if !out.status.success() {
        println!("==> building the bench binaries failed");
        return Ok(false);
    }
    let root = std::env::current_dir()?;
    let mut exes: Vec<(String, String)> = bench_executables(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .map(|(n, p)| {
            let rel =
                Path::new(&p).strip_prefix(&root).map_or(p.clone(), |r| r.display().to_string());
            (n, rel)
        })
        .collect();
    exes.sort_by_key(|(n, _)| (n != "decisions", n.clone()));
    println!("\n==> bench binaries for {triple} (release):");
    for (name, path) in &exes {
        println!("    {name:<18} {path}");
    }
    println!(
        "\n==> to run them on a board ({triple}: Raspberry Pi 3/4/5, Graviton, …), replace \
         BOARD by its ssh name:"
    );
    for c in board_commands(triple, &exes) {
        println!("    {c}");
    }
    println!(
        "    (criterion binaries need `--bench`; each backend's probe skips what the CPU \
         lacks; `decisions` prints the table and writes results/ there)"
    );
    Ok(!exes.is_empty())
}

/// Runs `cargo xtask bench`; true when it passed.
pub fn run(args: &BenchArgs) -> Result<bool> {
    if args.networks {
        let records = steps::run_all("cargo xtask bench --networks", &networks_plan(args));
        if steps::all_passed(&records) {
            println!("==> results: {NETWORKS_OUT}/results.md, results.json, speedup.svg");
        }
        return Ok(steps::all_passed(&records));
    }
    let host = tools::host_triple()?;
    let triple = args.target.clone().unwrap_or_else(|| host.clone());
    let prefs = Prefs { no_cross: args.no_cross };
    let mut probe = tools::probe(&triple)?;
    let mut execution = target::select(&triple, &probe, prefs);
    if let Err(missing) = &execution
        && (args.install || (tools::in_ci() && probe.root))
    {
        println!("==> installing what {triple} needs");
        tools::install(missing)?;
        probe = tools::probe(&triple)?;
        execution = target::select(&triple, &probe, prefs);
    }
    let execution = execution.map_err(|m| m.to_string());
    let mut banner = Vec::new();
    if let Ok(e) = &execution {
        let mut s = format!("==> {triple}: using {e}");
        if let Some(why) = target::why_not_cross(&triple, &probe, prefs)
            && !matches!(e, Execution::Cross { .. })
        {
            s += &format!(" ({why})");
        }
        banner.push(s);
        if e.emulated() && !args.no_run {
            let cpu = cpu(args, e).unwrap_or_default();
            banner.push(format!("==> !!! {} !!!", emulation_banner(&triple, &cpu)));
        }
    }
    for b in &banner {
        println!("{b}");
    }
    if args.no_run {
        return match &execution {
            Ok(e) => no_run(&triple, e),
            Err(why) => {
                println!("==> {triple}: cannot build: {why}");
                Ok(false)
            }
        };
    }
    let root = std::env::current_dir()?.display().to_string();
    let facts = Facts { host, root, execution };
    let records = steps::run_all("cargo xtask bench", &plan(args, &facts));
    if steps::all_passed(&records) {
        let key = match &facts.execution {
            Ok(e) => result_key(&triple, cpu(args, e).as_deref()),
            Err(_) => triple.clone(),
        };
        println!("==> results: target/qnn-bench/{key}/results.md, results.json, speedup.svg");
    }
    for b in &banner {
        println!("{b}");
    }
    Ok(steps::all_passed(&records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::{Action, rendered as commands};
    use crate::target::{AARCH64, Runner};

    const HOST: &str = "x86_64-unknown-linux-gnu";

    fn facts(execution: Result<Execution, String>) -> Facts {
        Facts { host: HOST.into(), root: "/src/qnn".into(), execution }
    }

    #[test]
    fn with_runs_the_outside_crates_decisions_into_the_same_results() {
        let args =
            BenchArgs { with: Some("examples/third-party-backend".into()), ..Default::default() };
        let c = commands(&plan(&args, &facts(Ok(Execution::Native))));
        assert_eq!(
            c,
            [format!(
                "CRITERION_HOME=../target/criterion/{HOST} CARGO_TARGET_DIR=/src/qnn/target cargo bench \
                 --manifest-path examples/third-party-backend/Cargo.toml --bench decisions -- \
                 --out /src/qnn/target/qnn-bench/{HOST}"
            )]
        );
        let nets = BenchArgs { networks: true, ..args };
        let c = commands(&networks_plan(&nets));
        assert!(c[1].contains("--manifest-path examples/third-party-backend/Cargo.toml --bin qnn"));
        assert!(c[3].contains("--qnn target/third-party/release/qnn"), "{}", c[3]);
    }

    #[test]
    fn networks_generate_build_then_bench_with_the_rest_passed_on() {
        let args = BenchArgs {
            networks: true,
            quick: true,
            rest: vec!["--nets".into(), "squeezenet".into()],
            ..Default::default()
        };
        let cmds = commands(&networks_plan(&args));
        assert_eq!(cmds.len(), 3, "{cmds:#?}");
        assert_eq!(cmds[0], "python3 benches/networks/generate.py");
        assert!(cmds[1].starts_with("cargo build --release -p qnn-cli -p qnn-benches"));
        assert!(cmds[1].contains("--bin peaks"), "{}", cmds[1]);
        assert_eq!(
            cmds[2],
            "python3 benches/networks/bench_networks.py --qnn target/release/qnn --peaks-bin \
             target/release/peaks --out target/qnn-bench/networks --rounds 2 --runs 10 --nets \
             squeezenet"
        );
    }

    #[test]
    fn plain_bench_runs_the_decisions_on_the_host() {
        let c = commands(&plan(&BenchArgs::default(), &facts(Ok(Execution::Native))));
        assert_eq!(
            c,
            [format!(
                "CRITERION_HOME=../target/criterion/{HOST} cargo bench -p qnn-benches --bench decisions -- --out ../target/qnn-bench/{HOST}"
            )]
        );
    }

    #[test]
    fn quick_criterion_and_extra_arguments() {
        let args = BenchArgs {
            quick: true,
            criterion: true,
            rest: vec!["--layers".into(), "resnet50_conv2_3x3".into()],
            ..Default::default()
        };
        let c = commands(&plan(&args, &facts(Ok(Execution::Native))));
        assert!(c[0].ends_with("--quick --layers resnet50_conv2_3x3"), "{}", c[0]);
        assert!(c[1].contains("--bench lowerings --bench models --bench x86_layers"), "{}", c[1]);
    }

    #[test]
    fn emulated_arm_runs_one_cpu_with_its_own_directories_and_a_note() {
        let args = BenchArgs {
            target: Some(AARCH64.into()),
            cpu: Some("cortex-a53".into()),
            ..Default::default()
        };
        let steps = plan(&args, &facts(Ok(Execution::Local(Runner::ConfiguredQemu))));
        assert_eq!(steps.len(), 1);
        let Action::Run(cmd) = &steps[0].action else { panic!("{steps:?}") };
        assert_eq!(cmd.env_value("QEMU_CPU"), Some("cortex-a53"));
        assert_eq!(
            cmd.env_value("CRITERION_HOME"),
            Some("../target/criterion/aarch64-unknown-linux-gnu/cortex-a53")
        );
        let line = cmd.to_string();
        assert!(
            line.contains(
                "cargo bench --target aarch64-unknown-linux-gnu -p qnn-benches --bench decisions"
            ),
            "{line}"
        );
        assert!(
            line.contains("--out ../target/qnn-bench/aarch64-unknown-linux-gnu-cortex-a53"),
            "{line}"
        );
        assert!(line.contains("--quick --emulated --note"), "{line}");
        // Without --cpu, the CPU with every feature.
        let args = BenchArgs { target: Some(AARCH64.into()), ..Default::default() };
        let steps = plan(&args, &facts(Ok(Execution::Local(Runner::ConfiguredQemu))));
        let Action::Run(cmd) = &steps[0].action else { panic!("{steps:?}") };
        assert_eq!(cmd.env_value("QEMU_CPU"), Some(EMULATED_DEFAULT_CPU));
    }

    #[test]
    fn a_board_runner_is_not_emulated_and_cross_passes_the_environment() {
        let args = BenchArgs { target: Some(AARCH64.into()), ..Default::default() };
        let board = Execution::Local(Runner::User("ssh-run pi5".into()));
        let steps = plan(&args, &facts(Ok(board)));
        let Action::Run(cmd) = &steps[0].action else { panic!("{steps:?}") };
        assert_eq!(cmd.env_value("QEMU_CPU"), None);
        assert!(!cmd.to_string().contains("--emulated"));
        assert_eq!(
            cmd.env_value("CRITERION_HOME"),
            Some("../target/criterion/aarch64-unknown-linux-gnu")
        );

        let steps = plan(&args, &facts(Ok(Execution::Cross { engine: "docker".into() })));
        let Action::Run(cmd) = &steps[0].action else { panic!("{steps:?}") };
        assert_eq!(cmd.program, "cross");
        let pass = cmd.env_value("CROSS_BUILD_ENV_PASSTHROUGH").unwrap();
        assert!(pass.contains("CRITERION_HOME") && pass.contains("QEMU_CPU"), "{pass}");
    }

    #[test]
    fn missing_tools_are_one_failing_step_with_the_install_commands() {
        let args = BenchArgs { target: Some(AARCH64.into()), ..Default::default() };
        let why = "install them with:\n    rustup target add aarch64-unknown-linux-gnu";
        let c = commands(&plan(&args, &facts(Err(why.into()))));
        assert_eq!(c, [format!("cannot: {why}")]);
    }

    #[test]
    fn executables_are_found_in_cargo_json() {
        let json = r#"{"reason":"compiler-artifact","package_id":"x","target":{"kind":["lib"],"name":"qnn_benches"},"executable":null}
{"reason":"compiler-artifact","package_id":"x","target":{"kind":["bench"],"crate_types":["bin"],"name":"decisions","src_path":"/w/benches/benches/decisions.rs"},"profile":{},"executable":"/w/target/aarch64-unknown-linux-gnu/release/deps/decisions-0abc"}
{"reason":"compiler-artifact","package_id":"x","target":{"kind":["bench"],"crate_types":["bin"],"name":"arm_layers","src_path":"/w/b.rs"},"executable":"/w/target/aarch64-unknown-linux-gnu/release/deps/arm_layers-1def"}
{"reason":"build-finished","success":true}"#;
        let exes = bench_executables(json);
        assert_eq!(
            exes,
            [
                (
                    "decisions".to_string(),
                    "/w/target/aarch64-unknown-linux-gnu/release/deps/decisions-0abc".to_string()
                ),
                (
                    "arm_layers".into(),
                    "/w/target/aarch64-unknown-linux-gnu/release/deps/arm_layers-1def".into()
                ),
            ]
        );
        let cmds = board_commands(AARCH64, &exes);
        assert!(cmds[0].ends_with("decisions-0abc /w/target/aarch64-unknown-linux-gnu/release/deps/arm_layers-1def BOARD:qnn-bench/"));
        assert_eq!(cmds[1], "ssh BOARD 'cd qnn-bench && ./decisions-0abc --bench --out results'");
        assert_eq!(
            cmds[2],
            "ssh BOARD 'cd qnn-bench && CRITERION_HOME=criterion ./arm_layers-1def --bench'"
        );
    }
}
