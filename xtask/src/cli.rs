//! The command line: `cargo xtask COMMAND [OPTIONS]`.

use anyhow::{Result, bail};

pub const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  bench     the main job: every layer of the suite and both whole models on every usable
            backend under both lowerings; which lowering the Capability, CostModel and
            Measured policies pick and whether it was the fastest; decision quality;
            target/qnn-bench/TRIPLE[-CPU]/{results.md,results.json,speedup.svg}.
            With --networks: full-size networks end to end, qnn next to ONNX Runtime and
            OpenVINO (target/qnn-bench/networks/)
  calibrate fit the cost model's figures to this machine
            (target/qnn-bench/HOST/calibration.json, read by `bench`)
  test      host tests, clippy, rustfmt, then the aarch64 suites under qemu for
            cortex-a53, neoverse-n1 and max
  asm-report
            instructions per MAC of each Arm kernel's inner loop, from the disassembly
            of the aarch64 release build, next to the peers' figures
  fuzz      each cargo-fuzz target of fuzz/ for a while (nightly; installs cargo-fuzz
            when missing), with executions and findings per target
  miri      the reference interpreter, the IR and the importer's parsing under Miri
            (nightly; adds the miri component when missing)
  stress    many threads running one compiled model, then many models at once, each
            output compared with a single-threaded run
  fixtures  regenerate or check qnn-onnx's conformance fixtures with ONNX Runtime
            (needs Python with numpy 2.4.6, onnx 1.23.2, onnxruntime 1.32.0)
  gpu-check build the CUDA backend's tests and a script that runs them on a GPU machine
  help      this text

options of `test`:
  --target TRIPLE   test only for TRIPLE (aarch64-unknown-linux-gnu): through `cross` when it
                    is installed and docker/podman answers, else with the cross linker and the
                    runner of .cargo/config.toml (qemu) or CARGO_TARGET_<TRIPLE>_RUNNER
  --cpu NAME        the emulated CPU (QEMU_CPU), instead of all three
  --quick           property tests at 1/8 of their cases, and one emulated CPU (max)
  --install         install missing tools (rustup target and components, apt packages);
                    automatic whenever this user can (root, or sudo without a password),
                    printing each install command
  --no-install      never install: print the install commands and fail those steps
  --no-cross        build locally even when `cross` would work

options of `bench`:
  --quick           fewer timed runs, no forced whole-model variants
  --networks        instead: the full-size network suite (benches/networks: ResNet-50/18,
                    MobileNetV2/V3, EfficientNet-Lite0, GoogLeNet, SqueezeNet; generated
                    on first use into target/qnn-networks, with the pinned Python packages
                    in ~/.cache/qnn-networks/venv), qnn, ONNX Runtime and OpenVINO
                    alternating at 1 and 2 threads: ms, GMAC/s, % of this CPU's peak,
                    load time, peak memory, exactness (-- ARGS: --nets a,b --forms qop,qdq
                    --threads 1,2 --rounds R --runs N --ort-exact --no-ov)
  --target TRIPLE   bench TRIPLE (aarch64-unknown-linux-gnu), run as for `test`; under
                    emulation the timings are not representative (said at top and bottom)
  --cpu NAME        the emulated CPU (QEMU_CPU; default under emulation: max)
  --no-run          build the bench binaries, print their paths and the commands that copy
                    them to a board and run them there
  --criterion       also run the criterion benches (data in target/criterion/TRIPLE[/CPU])
  --with PATH       link a backend crate outside the workspace: runs PATH's own `decisions`
                    bench (`qnn_benches::decisions::main` with `use its_crate as _;`), built
                    in this target directory, into the same results (its backend a row next
                    to the in-tree ones); with --networks, PATH's `qnn` binary is the qnn
                    that is timed (examples/third-party-backend shows both)
  --install, --no-cross
                    as for `test`
  -- ARGS           passed to the decisions bench (--layers a,b, --no-models, --threads N,
                    --recalibrate, --remeasure)

options of `calibrate`:
  --quick           fewer timed runs

options of `asm-report`:
  --no-build        disassemble the existing release build
  --show            print each hot loop's instructions too

options of `fuzz`:
  --time S          seconds per target (default 60)
  --target NAME     only this target (onnx_bytes, onnx_mutate, ir_text, …)

options of `fixtures`:
  --peers DIR       also copy cases, node tests and models from a peers checkout
  --only STEPS      comma-separated: copy, ort-node, qdq, ops, check (default: all but copy)
  --python PATH     the interpreter (default: $QNN_PYTHON, ~/.cache/qnn-peers/venv, python3)

options of `stress`:
  --time S          seconds in all (default 60), half on one model, half on many
  --threads N       caller threads (default 8)

environment:
  QNN_PROPTEST_CASES   cases per property test (default: each test's own, 256 in proptest);
                       under emulation xtask divides it (or 256) by 8
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER
                       your runner for aarch64 binaries (an ssh wrapper to a board); honoured,
                       and then nothing is emulated
";

/// Options of `cargo xtask test`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestArgs {
    pub target: Option<String>,
    pub cpu: Option<String>,
    pub quick: bool,
    pub install: bool,
    /// Never install missing tools; only print the install commands.
    pub no_install: bool,
    pub no_cross: bool,
}

/// Options of `cargo xtask fuzz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzArgs {
    /// Seconds per target.
    pub time: u64,
    pub target: Option<String>,
}

impl Default for FuzzArgs {
    fn default() -> Self {
        FuzzArgs { time: 60, target: None }
    }
}

/// Options of `cargo xtask stress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StressArgs {
    /// Seconds in all.
    pub time: u64,
    /// Caller threads.
    pub threads: usize,
}

impl Default for StressArgs {
    fn default() -> Self {
        StressArgs { time: 60, threads: 8 }
    }
}

/// Options of `cargo xtask fixtures`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FixturesArgs {
    pub peers: Option<String>,
    pub only: Option<String>,
    pub python: Option<String>,
}

/// Options of `cargo xtask bench`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BenchArgs {
    pub target: Option<String>,
    pub cpu: Option<String>,
    pub quick: bool,
    pub no_run: bool,
    pub criterion: bool,
    pub install: bool,
    pub no_cross: bool,
    /// The network suite instead of the decision benchmark.
    pub networks: bool,
    /// A backend crate outside the workspace (`--with PATH`) whose own `decisions` bench
    /// (or, with `--networks`, its `qnn` binary) runs instead, that backend linked next to
    /// the in-tree ones.
    pub with: Option<String>,
    /// Arguments after `--`, for the decisions bench (or the network benchmark).
    pub rest: Vec<String>,
}

/// Options of `cargo xtask calibrate`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalibrateArgs {
    pub quick: bool,
}

/// Options of `cargo xtask asm-report`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AsmReportArgs {
    pub no_build: bool,
    pub show: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Test(TestArgs),
    Bench(BenchArgs),
    Calibrate(CalibrateArgs),
    AsmReport(AsmReportArgs),
    Fuzz(FuzzArgs),
    Miri,
    Stress(StressArgs),
    Fixtures(FixturesArgs),
    Help,
}

/// Parses the arguments after `cargo xtask`. Accepts `--opt value` and `--opt=value`.
pub fn parse<I, S>(args: I) -> Result<Command>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut args = args.into_iter().map(Into::into);
    let Some(command) = args.next() else { return Ok(Command::Help) };
    match command.as_str() {
        "help" | "-h" | "--help" => Ok(Command::Help),
        "test" => {
            let rest: Vec<String> = args.collect();
            if rest.iter().any(|a| a == "-h" || a == "--help") {
                return Ok(Command::Help);
            }
            parse_test(rest.into_iter()).map(Command::Test)
        }
        "bench" => {
            let rest: Vec<String> = args.collect();
            let dash = rest.iter().position(|a| a == "--").unwrap_or(rest.len());
            if rest[..dash].iter().any(|a| a == "-h" || a == "--help") {
                return Ok(Command::Help);
            }
            parse_bench(rest[..dash].to_vec(), rest.get(dash + 1..).unwrap_or(&[]).to_vec())
                .map(Command::Bench)
        }
        "calibrate" => {
            let mut a = CalibrateArgs::default();
            for arg in args {
                match arg.as_str() {
                    "--quick" => a.quick = true,
                    "-h" | "--help" => return Ok(Command::Help),
                    other => {
                        bail!("unknown option `{other}` of `cargo xtask calibrate`\n\n{USAGE}")
                    }
                }
            }
            Ok(Command::Calibrate(a))
        }
        "asm-report" => {
            let mut a = AsmReportArgs::default();
            for arg in args {
                match arg.as_str() {
                    "--no-build" => a.no_build = true,
                    "--show" => a.show = true,
                    "-h" | "--help" => return Ok(Command::Help),
                    other => {
                        bail!("unknown option `{other}` of `cargo xtask asm-report`\n\n{USAGE}")
                    }
                }
            }
            Ok(Command::AsmReport(a))
        }
        "fuzz" => {
            let rest: Vec<String> = args.collect();
            if rest.iter().any(|a| a == "-h" || a == "--help") {
                return Ok(Command::Help);
            }
            parse_fuzz(rest.into_iter()).map(Command::Fuzz)
        }
        "stress" => {
            let rest: Vec<String> = args.collect();
            if rest.iter().any(|a| a == "-h" || a == "--help") {
                return Ok(Command::Help);
            }
            parse_stress(rest.into_iter()).map(Command::Stress)
        }
        "fixtures" => {
            let rest: Vec<String> = args.collect();
            if rest.iter().any(|a| a == "-h" || a == "--help") {
                return Ok(Command::Help);
            }
            parse_fixtures(rest.into_iter()).map(Command::Fixtures)
        }
        "miri" => match args.next() {
            None => Ok(Command::Miri),
            Some(a) if a == "-h" || a == "--help" => Ok(Command::Help),
            Some(a) => bail!("`cargo xtask miri` takes no option, got `{a}`\n\n{USAGE}"),
        },
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

/// `--name value` or `--name=value` pairs of `command`, each name one of `names`.
fn options(
    command: &str,
    names: &[&str],
    args: impl Iterator<Item = String>,
) -> Result<Vec<(String, String)>> {
    Ok(flags(command, names, &[], args)?.values)
}

/// A positive integer option value.
fn positive<T: std::str::FromStr + PartialOrd + Default>(flag: &str, v: &str) -> Result<T> {
    match v.parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => bail!("`{flag}` takes a number > 0, got `{v}`\n\n{USAGE}"),
    }
}

fn parse_stress(args: impl Iterator<Item = String>) -> Result<StressArgs> {
    let mut s = StressArgs::default();
    for (flag, v) in options("stress", &["--time", "--threads"], args)? {
        match flag.as_str() {
            "--time" => s.time = positive(&flag, &v)?,
            _ => s.threads = positive(&flag, &v)?,
        }
    }
    Ok(s)
}

fn parse_fixtures(args: impl Iterator<Item = String>) -> Result<FixturesArgs> {
    let mut f = FixturesArgs::default();
    for (flag, v) in options("fixtures", &["--peers", "--only", "--python"], args)? {
        match flag.as_str() {
            "--peers" => f.peers = Some(v),
            "--only" => f.only = Some(v),
            _ => f.python = Some(v),
        }
    }
    Ok(f)
}

fn parse_fuzz(args: impl Iterator<Item = String>) -> Result<FuzzArgs> {
    let mut f = FuzzArgs::default();
    for (flag, v) in options("fuzz", &["--time", "--target"], args)? {
        match flag.as_str() {
            "--time" => f.time = positive(&flag, &v)?,
            _ => f.target = Some(v),
        }
    }
    Ok(f)
}

/// Options of `command`: `--name value` or `--name=value` for the names in `valued`, a bare
/// `--name` for those in `switches`, in any order.
struct Flags {
    values: Vec<(String, String)>,
    switches: Vec<String>,
}

fn flags(
    command: &str,
    valued: &[&str],
    switches: &[&str],
    mut args: impl Iterator<Item = String>,
) -> Result<Flags> {
    let mut out = Flags { values: Vec::new(), switches: Vec::new() };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if valued.contains(&flag.as_str()) {
            match inline.or_else(|| args.next()) {
                Some(v) if !v.is_empty() && !v.starts_with("--") => out.values.push((flag, v)),
                _ => bail!("`{flag}` needs a value\n\n{USAGE}"),
            }
        } else if switches.contains(&flag.as_str()) {
            if inline.is_some() {
                bail!("`{flag}` takes no value\n\n{USAGE}");
            }
            out.switches.push(flag);
        } else {
            bail!("unknown option `{flag}` of `cargo xtask {command}`\n\n{USAGE}");
        }
    }
    Ok(out)
}

fn parse_test(args: impl Iterator<Item = String>) -> Result<TestArgs> {
    let mut t = TestArgs::default();
    let f = flags(
        "test",
        &["--target", "--cpu"],
        &["--quick", "--install", "--no-install", "--no-cross"],
        args,
    )?;
    for (flag, v) in f.values {
        match flag.as_str() {
            "--target" => t.target = Some(v),
            _ => t.cpu = Some(v),
        }
    }
    for flag in f.switches {
        match flag.as_str() {
            "--quick" => t.quick = true,
            "--install" => t.install = true,
            "--no-install" => t.no_install = true,
            _ => t.no_cross = true,
        }
    }
    Ok(t)
}

fn parse_bench(flag_args: Vec<String>, rest: Vec<String>) -> Result<BenchArgs> {
    let mut b = BenchArgs { rest, ..BenchArgs::default() };
    let switches = ["--quick", "--no-run", "--criterion", "--install", "--no-cross", "--networks"];
    let f = flags("bench", &["--target", "--cpu", "--with"], &switches, flag_args.into_iter())?;
    for (flag, v) in f.values {
        match flag.as_str() {
            "--target" => b.target = Some(v),
            "--with" => b.with = Some(v.trim_end_matches('/').to_string()),
            _ => b.cpu = Some(v),
        }
    }
    for flag in f.switches {
        match flag.as_str() {
            "--quick" => b.quick = true,
            "--no-run" => b.no_run = true,
            "--criterion" => b.criterion = true,
            "--install" => b.install = true,
            "--networks" => b.networks = true,
            _ => b.no_cross = true,
        }
    }
    if b.networks && (b.target.is_some() || b.no_run || b.criterion) {
        bail!(
            "`--networks` runs the network suite on this machine, next to the peers' Python \
             packages: it takes no --target, --no-run or --criterion\n\n{USAGE}"
        );
    }
    if b.cpu.is_some() && b.target.is_none() {
        bail!(
            "`--cpu` picks the emulated CPU of `--target TRIPLE`; the host runs on its own CPU\n\n{USAGE}"
        );
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_args(args: &[&str]) -> Result<TestArgs> {
        match parse(std::iter::once("test").chain(args.iter().copied()))? {
            Command::Test(t) => Ok(t),
            c => panic!("parsed as {c:?}"),
        }
    }

    #[test]
    fn no_arguments_is_help() {
        assert_eq!(parse(Vec::<String>::new()).unwrap(), Command::Help);
        assert_eq!(parse(["--help"]).unwrap(), Command::Help);
        assert_eq!(parse(["test", "--quick", "-h"]).unwrap(), Command::Help);
    }

    #[test]
    fn plain_test() {
        assert_eq!(test_args(&[]).unwrap(), TestArgs::default());
    }

    #[test]
    fn every_option_both_spellings() {
        let want = TestArgs {
            target: Some("aarch64-unknown-linux-gnu".into()),
            cpu: Some("neoverse-n1".into()),
            quick: true,
            install: true,
            no_install: false,
            no_cross: true,
        };
        let spaced = [
            "--target",
            "aarch64-unknown-linux-gnu",
            "--cpu",
            "neoverse-n1",
            "--quick",
            "--install",
            "--no-cross",
        ];
        assert_eq!(test_args(&spaced).unwrap(), want);
        let inline = [
            "--cpu=neoverse-n1",
            "--target=aarch64-unknown-linux-gnu",
            "--no-cross",
            "--install",
            "--quick",
        ];
        assert_eq!(test_args(&inline).unwrap(), want);
    }

    #[test]
    fn bad_arguments_are_errors_that_show_usage() {
        for bad in [
            &["--target"][..],
            &["--cpu", "--quick"],
            &["--target="],
            &["--quick=yes"],
            &["--frobnicate"],
        ] {
            let e = test_args(bad).unwrap_err().to_string();
            assert!(e.contains("usage: cargo xtask"), "{bad:?}: {e}");
        }
        assert!(parse(["bench2"]).unwrap_err().to_string().starts_with("unknown command `bench2`"));
    }

    #[test]
    fn fuzz_options() {
        assert_eq!(parse(["fuzz"]).unwrap(), Command::Fuzz(FuzzArgs::default()));
        let want = FuzzArgs { time: 900, target: Some("ir_text".into()) };
        assert_eq!(
            parse(["fuzz", "--time", "900", "--target", "ir_text"]).unwrap(),
            Command::Fuzz(want.clone())
        );
        assert_eq!(parse(["fuzz", "--target=ir_text", "--time=900"]).unwrap(), Command::Fuzz(want));
        assert_eq!(parse(["fuzz", "--time", "5", "-h"]).unwrap(), Command::Help);
        for bad in [&["--time"][..], &["--time", "0"], &["--time", "x"], &["--target"], &["--x"]] {
            let e = parse(std::iter::once("fuzz").chain(bad.iter().copied())).unwrap_err();
            assert!(e.to_string().contains("usage: cargo xtask"), "{bad:?}: {e}");
        }
        assert_eq!(parse(["miri"]).unwrap(), Command::Miri);
        assert_eq!(parse(["stress"]).unwrap(), Command::Stress(StressArgs::default()));
        assert_eq!(
            parse(["stress", "--threads=3", "--time", "5"]).unwrap(),
            Command::Stress(StressArgs { time: 5, threads: 3 })
        );
        assert!(parse(["stress", "--threads", "0"]).unwrap_err().to_string().contains("usage"));
        assert!(parse(["miri", "--quick"]).unwrap_err().to_string().contains("usage"));
    }

    #[test]
    fn fixtures_options() {
        assert_eq!(parse(["fixtures"]).unwrap(), Command::Fixtures(FixturesArgs::default()));
        assert_eq!(
            parse(["fixtures", "--peers", "../shared/peers", "--only=check"]).unwrap(),
            Command::Fixtures(FixturesArgs {
                peers: Some("../shared/peers".into()),
                only: Some("check".into()),
                python: None,
            })
        );
        assert!(parse(["fixtures", "--only"]).unwrap_err().to_string().contains("needs a value"));
        assert!(parse(["fixtures", "--all"]).unwrap_err().to_string().contains("usage"));
    }

    #[test]
    fn bench_and_calibrate_options() {
        assert_eq!(parse(["bench"]).unwrap(), Command::Bench(BenchArgs::default()));
        let want = BenchArgs {
            target: Some("aarch64-unknown-linux-gnu".into()),
            cpu: Some("cortex-a53".into()),
            quick: true,
            no_run: true,
            criterion: true,
            install: true,
            no_cross: true,
            networks: false,
            with: Some("../backend-myisa".into()),
            rest: vec!["--layers".into(), "a,b".into()],
        };
        let args = [
            "bench",
            "--target=aarch64-unknown-linux-gnu",
            "--cpu",
            "cortex-a53",
            "--quick",
            "--no-run",
            "--criterion",
            "--install",
            "--no-cross",
            "--with",
            "../backend-myisa/",
            "--",
            "--layers",
            "a,b",
        ];
        assert_eq!(parse(args).unwrap(), Command::Bench(want));
        let t = test_args(&["--no-install"]).unwrap();
        assert!(t.no_install && !t.install);
        let e = parse(["bench", "--cpu", "max"]).unwrap_err().to_string();
        assert!(e.contains("--target"), "{e}");
        assert!(parse(["bench", "--frobnicate"]).unwrap_err().to_string().contains("usage"));
        assert_eq!(
            parse(["bench", "--", "--help"]).unwrap(),
            Command::Bench(BenchArgs { rest: vec!["--help".into()], ..Default::default() })
        );
        assert_eq!(
            parse(["calibrate", "--quick"]).unwrap(),
            Command::Calibrate(CalibrateArgs { quick: true })
        );
        assert!(parse(["calibrate", "--slow"]).is_err());
    }

    #[test]
    fn bench_networks_options() {
        assert_eq!(
            parse(["bench", "--networks", "--quick", "--", "--nets", "resnet50"]).unwrap(),
            Command::Bench(BenchArgs {
                networks: true,
                quick: true,
                rest: vec!["--nets".into(), "resnet50".into()],
                ..Default::default()
            })
        );
        for other in ["--no-run", "--criterion"] {
            let e = parse(["bench", "--networks", other]).unwrap_err().to_string();
            assert!(e.contains("--networks"), "{e}");
        }
        let e = parse(["bench", "--networks", "--target", "aarch64-unknown-linux-gnu"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("on this machine"), "{e}");
    }

    #[test]
    fn asm_report_options() {
        assert_eq!(parse(["asm-report"]).unwrap(), Command::AsmReport(AsmReportArgs::default()));
        let both = AsmReportArgs { no_build: true, show: true };
        assert_eq!(
            parse(["asm-report", "--show", "--no-build"]).unwrap(),
            Command::AsmReport(both)
        );
        assert!(parse(["asm-report", "--quick"]).unwrap_err().to_string().contains("usage"));
    }
}
