//! `cargo xtask fuzz [--time S] [--target NAME]`: runs each cargo-fuzz target of `fuzz/` for
//! `S` seconds and reports, per target, the executions and the crashes (panics, sanitizer
//! reports), timeouts (hangs) and out-of-memory inputs it found.
//!
//! cargo-fuzz needs a nightly toolchain (`-Zsanitizer`); everything else in the workspace
//! builds on stable. When nightly is missing this command prints how to get it; when
//! `cargo-fuzz` is missing it installs it (`cargo install cargo-fuzz --locked`).
//!
//! Each target runs in libFuzzer's fork mode with crashes, timeouts and OOMs ignored, so it
//! keeps fuzzing for the whole time and every finding is written to
//! `fuzz/artifacts/NAME/` (crash-…, timeout-…, oom-…). The corpus grows in
//! `fuzz/corpus/NAME/` (kept between runs, ignored by git); the committed seeds of
//! `fuzz/seeds/NAME/` are read too. The full libFuzzer log is `target/fuzz/NAME.log`.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cli::FuzzArgs;
use crate::steps::{Cmd, shell_quote};

/// The fuzz package's manifest, relative to the workspace root.
pub const MANIFEST: &str = "fuzz/Cargo.toml";

/// How to get nightly when it is missing.
pub const NIGHTLY_INSTALL: &str = "rustup toolchain install nightly --profile minimal";

/// Environment that `cargo run` (which runs xtask) sets for its child and that would pin the
/// nested nightly cargo to the stable toolchain or its tools.
const TOOLCHAIN_VARS: &[&str] = &["RUSTUP_TOOLCHAIN", "CARGO", "RUSTC", "RUSTDOC", "RUSTC_WRAPPER"];

/// libFuzzer options of every target: per-input time limit (a hang), memory limits (an
/// allocation that escapes the targets' `qnn_fuzz::LIMITS` of 16 MiB per tensor), and fork
/// mode that keeps going after a finding.
const COMMON_OPTIONS: &[&str] = &[
    "-timeout=20",
    "-rss_limit_mb=2048",
    "-malloc_limit_mb=1024",
    "-fork=1",
    "-ignore_crashes=1",
    "-ignore_timeouts=1",
    "-ignore_ooms=1",
    "-print_final_stats=1",
];

/// Extra libFuzzer options per target.
const TARGET_OPTIONS: &[(&str, &[&str])] = &[
    ("ir_text", &["-dict=fuzz/dicts/ir_text.dict"]),
    // The input is a stream of choices, not a model: a few hundred bytes make eight edits
    // or a three-layer graph, and short inputs only make defaults (no length ramp-up).
    ("onnx_mutate", &["-max_len=512", "-len_control=0"]),
    ("differential", &["-max_len=512", "-len_control=0"]),
];

/// A `cargo +nightly …` command with the stable toolchain's variables removed.
pub fn nightly(args: &[&str]) -> Command {
    let mut c = Command::new("cargo");
    c.arg("+nightly").args(args);
    for v in TOOLCHAIN_VARS {
        c.env_remove(v);
    }
    c
}

/// True when `cargo +nightly` works.
pub fn has_nightly() -> bool {
    quiet(nightly(&["--version"]))
}

fn quiet(mut c: Command) -> bool {
    c.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// The `[[bin]]` names of the fuzz manifest, in order.
pub fn targets(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin
            && let Some(v) = line.strip_prefix("name").map(str::trim_start)
            && let Some(v) = v.strip_prefix('=')
        {
            out.push(v.trim().trim_matches('"').to_string());
        }
    }
    out
}

/// The targets to run: all, or the one asked for (an unknown name lists the known ones).
pub fn select(all: &[String], wanted: Option<&str>) -> Result<Vec<String>> {
    match wanted {
        None => Ok(all.to_vec()),
        Some(w) if all.iter().any(|t| t == w) => Ok(vec![w.to_string()]),
        Some(w) => bail!("no fuzz target `{w}` in {MANIFEST}; targets: {}", all.join(", ")),
    }
}

/// Arguments of `cargo +nightly fuzz run` for `target` during `seconds`; `seeds` when the
/// target has a committed seed folder.
pub fn run_args(target: &str, seconds: u64, seeds: bool) -> Vec<String> {
    let mut a = vec!["fuzz".into(), "run".into(), target.into(), format!("fuzz/corpus/{target}")];
    if seeds {
        a.push(format!("fuzz/seeds/{target}"));
    }
    a.push("--".into());
    a.push(format!("-max_total_time={seconds}"));
    a.extend(COMMON_OPTIONS.iter().map(|s| s.to_string()));
    let extra = TARGET_OPTIONS.iter().find(|(t, _)| *t == target).map_or(&[][..], |(_, o)| o);
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// What one run did, read from libFuzzer's output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub executions: u64,
    pub crashes: u64,
    pub timeouts: u64,
    pub ooms: u64,
    /// Inputs in the corpus at the end.
    pub corpus: u64,
}

impl Stats {
    pub fn findings(&self) -> u64 {
        self.crashes + self.timeouts + self.ooms
    }
}

/// The last status of a libFuzzer log: fork mode prints
/// `#N: cov: C ft: F corp: K exec/s: E oom/timeout/crash: O/T/X time: Ss …`; a plain run
/// prints `stat::number_of_executed_units: N` at the end and `#N … corp: K/…` on the way.
pub fn parse_stats(log: &str) -> Stats {
    let mut s = Stats::default();
    let field = |line: &str, key: &str| -> Option<String> {
        let rest = &line[line.find(key)? + key.len()..];
        Some(rest.split_whitespace().next()?.to_string())
    };
    for line in log.lines() {
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
            s.executions = n.trim().parse().unwrap_or(s.executions);
            continue;
        }
        let Some(rest) = line.strip_prefix('#') else { continue };
        let Some(n) = rest.split([':', '\t', ' ']).next().and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        s.executions = s.executions.max(n);
        if let Some(k) = field(line, "corp: ") {
            s.corpus = k.split('/').next().and_then(|k| k.parse().ok()).unwrap_or(s.corpus);
        }
        if let Some(otc) = field(line, "oom/timeout/crash: ") {
            let v: Vec<u64> = otc.split('/').filter_map(|x| x.parse().ok()).collect();
            if let [o, t, c] = v[..] {
                (s.ooms, s.timeouts, s.crashes) = (o, t, c);
            }
        }
    }
    s
}

/// Lines of libFuzzer's output worth showing live (the log file keeps all of them).
fn shown(line: &str) -> bool {
    line.contains("panicked at")
        || line.contains("ERROR:")
        || line.contains("SUMMARY:")
        || line.contains("Test unit written to")
        || line.starts_with("INFO: fuzzed for")
}

/// Files of an artifacts folder (empty when it does not exist).
fn artifacts(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs one target; returns its stats, the seconds it ran and the new artifact files.
fn run_target(target: &str, seconds: u64) -> Result<(Stats, f64, Vec<PathBuf>)> {
    fs::create_dir_all(format!("fuzz/corpus/{target}"))?;
    let art_dir = PathBuf::from(format!("fuzz/artifacts/{target}"));
    let before = artifacts(&art_dir);
    let seeds = Path::new(&format!("fuzz/seeds/{target}")).is_dir();
    let args = run_args(target, seconds, seeds);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    println!(
        "    $ cargo +nightly {}",
        args.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
    );
    fs::create_dir_all("target/fuzz")?;
    let log_path = format!("target/fuzz/{target}.log");
    let mut log =
        fs::File::create(&log_path).with_context(|| format!("cannot write {log_path}"))?;
    let start = Instant::now();
    let mut child = nightly(&arg_refs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("could not start `cargo +nightly fuzz run`")?;
    // libFuzzer writes to stderr; merge stdout in on a thread.
    let stdout = child.stdout.take().context("no stdout")?;
    let out_thread = std::thread::spawn(move || {
        BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<_>>().join("\n")
    });
    let mut text = String::new();
    let mut last_status = Instant::now();
    for line in BufReader::new(child.stderr.take().context("no stderr")?).lines() {
        let line = line?;
        writeln!(log, "{line}")?;
        let status = line.starts_with('#') && line.contains("exec/s");
        if shown(&line) || (status && last_status.elapsed() >= Duration::from_secs(30)) {
            println!("    {line}");
            if status {
                last_status = Instant::now();
            }
        }
        text.push_str(&line);
        text.push('\n');
    }
    let status = child.wait()?;
    let out = out_thread.join().unwrap_or_default();
    writeln!(log, "{out}")?;
    let elapsed = start.elapsed().as_secs_f64();
    let stats = parse_stats(&text);
    if !status.success() && stats.executions == 0 {
        bail!("`cargo +nightly fuzz run {target}` failed ({status}); see {log_path}");
    }
    let new: Vec<PathBuf> =
        artifacts(&art_dir).into_iter().filter(|p| !before.contains(p)).collect();
    Ok((stats, elapsed, new))
}

pub fn run(args: &FuzzArgs) -> Result<bool> {
    if !has_nightly() {
        bail!(
            "cargo-fuzz needs a nightly toolchain, and `cargo +nightly` does not work here.\n\
             Install it with:\n    {NIGHTLY_INSTALL}\n(the rest of the workspace stays on stable)"
        );
    }
    if !quiet(nightly(&["fuzz", "--version"])) {
        let install = Cmd::new("cargo").args(["install", "cargo-fuzz", "--locked"]);
        println!("==> cargo-fuzz is missing; installing it\n    $ {install}");
        install.run().map_err(anyhow::Error::msg).context("installing cargo-fuzz failed")?;
    }
    let manifest =
        fs::read_to_string(MANIFEST).with_context(|| format!("cannot read {MANIFEST}"))?;
    let all = targets(&manifest);
    let chosen = select(&all, args.target.as_deref())?;
    println!("==> building the fuzz targets (nightly, AddressSanitizer)");
    let mut build = nightly(&["fuzz", "build"]);
    if let Some(t) = &args.target {
        build.arg(t);
    }
    if !build.status().context("could not run `cargo +nightly fuzz build`")?.success() {
        bail!("building the fuzz targets failed");
    }
    let mut rows = Vec::new();
    for (i, t) in chosen.iter().enumerate() {
        println!("\n==> [{}/{}] fuzzing `{t}` for {} s", i + 1, chosen.len(), args.time);
        rows.push((t.clone(), run_target(t, args.time)?));
    }
    println!("\n==> summary: cargo xtask fuzz --time {}", args.time);
    println!(
        "    {:<14} {:>8} {:>12} {:>9} {:>8} {:>7} {:>8} {:>5}",
        "target", "seconds", "executions", "exec/s", "corpus", "crashes", "timeouts", "ooms"
    );
    let mut clean = true;
    for (t, (s, secs, new)) in &rows {
        println!(
            "    {:<14} {:>8.0} {:>12} {:>9.0} {:>8} {:>7} {:>8} {:>5}",
            t,
            secs,
            s.executions,
            s.executions as f64 / secs.max(1e-9),
            s.corpus,
            s.crashes,
            s.timeouts,
            s.ooms
        );
        for p in new {
            println!("      new finding: {}", p.display());
        }
        clean &= s.findings() == 0 && new.is_empty();
    }
    if clean {
        println!("==> no crashes, timeouts or out-of-memory inputs");
    } else {
        println!(
            "==> findings above: reproduce one with `cargo +nightly fuzz run TARGET FILE`, \
             turn it into a regression test in the crate that had the bug"
        );
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_the_bins_of_the_manifest() {
        let m = "[package]\nname = \"qnn-fuzz\"\n\n[[bin]]\nname = \"a\"\npath = \"x\"\n\n\
                 [dependencies]\nname = \"no\"\n[[bin]]\nname=\"b\"\n";
        assert_eq!(targets(m), ["a", "b"]);
        let real =
            fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/Cargo.toml"))
                .unwrap();
        let t = targets(&real);
        assert!(
            t.contains(&"onnx_bytes".to_string()) && t.contains(&"ir_text".to_string()),
            "{t:?}"
        );
    }

    #[test]
    fn selecting_an_unknown_target_lists_the_known_ones() {
        let all = vec!["a".to_string(), "b".to_string()];
        assert_eq!(select(&all, None).unwrap(), all);
        assert_eq!(select(&all, Some("b")).unwrap(), ["b"]);
        let e = select(&all, Some("c")).unwrap_err().to_string();
        assert!(e.contains("`c`") && e.contains("a, b"), "{e}");
    }

    #[test]
    fn run_arguments_carry_time_seeds_and_target_options() {
        let a = run_args("ir_text", 60, true);
        assert_eq!(a[..5], ["fuzz", "run", "ir_text", "fuzz/corpus/ir_text", "fuzz/seeds/ir_text"]);
        assert!(a.contains(&"-max_total_time=60".to_string()));
        assert!(a.contains(&"-dict=fuzz/dicts/ir_text.dict".to_string()));
        assert!(a.contains(&"-fork=1".to_string()));
        let b = run_args("onnx_mutate", 5, false);
        assert_eq!(b[4], "--");
        assert!(b.contains(&"-max_len=512".to_string()));
    }

    #[test]
    fn stats_from_fork_mode_and_plain_logs() {
        let fork = "INFO: Seed: 1\n\
            #17011: cov: 6671 ft: 19101 corp: 302 exec/s: 3459 oom/timeout/crash: 0/0/0 time: 7s job: 2 dft_time: 0\n\
            #89674: cov: 6848 ft: 19904 corp: 458 exec/s: 3730 oom/timeout/crash: 1/2/3 time: 24s job: 5 dft_time: 0\n\
            INFO: fuzzed for 24 seconds, wrapping up soon\n";
        let s = parse_stats(fork);
        assert_eq!(s, Stats { executions: 89674, crashes: 3, timeouts: 2, ooms: 1, corpus: 458 });
        assert_eq!(s.findings(), 6);
        let plain = "#2\tINITED cov: 10 ft: 11 corp: 5/40b exec/s: 0 rss: 30Mb\n\
            #12540\tNEW    cov: 11766 ft: 32390 corp: 1170/8817b lim: 17 exec/s: 464 rss: 476Mb\n\
            Done 41067 runs in 91 second(s)\nstat::number_of_executed_units: 41067\n";
        let s = parse_stats(plain);
        assert_eq!((s.executions, s.corpus, s.findings()), (41067, 1170, 0));
    }
}
