//! `cargo xtask`: the project's commands (`test`, `bench` — the main job —, `calibrate`,
//! `asm-report`, `gpu-check`).
//!
//! * [`cli`] parses the command line;
//! * [`target`] decides how to build and run for a target triple (native, `cross`, or cross
//!   linker + runner), from what [`tools`] finds on the machine;
//! * [`steps`] runs a plan of commands with headers and a summary table;
//! * [`commands`] holds one module per command, each a pure `plan` plus a `run`.

mod cli;
mod commands;
mod steps;
mod target;
mod tools;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            // `{:#}` prints the context chain on one line: a message, not a stack trace.
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool> {
    // Every command works on the whole workspace, wherever it was started from.
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("xtask has no parent folder")?;
    std::env::set_current_dir(root).with_context(|| format!("cannot enter {}", root.display()))?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "gpu-check") {
        return commands::gpu_check::run(&args[1..]);
    }
    match cli::parse(args)? {
        cli::Command::Help => {
            print!("{}", cli::USAGE);
            Ok(true)
        }
        cli::Command::Test(args) => commands::test::run(&args),
        cli::Command::Bench(args) => commands::bench::run(&args),
        cli::Command::Calibrate(args) => commands::calibrate::run(&args),
        cli::Command::AsmReport(args) => commands::asm_report::run(&args),
        cli::Command::Fuzz(args) => commands::fuzz::run(&args),
        cli::Command::Miri => commands::miri::run(),
        cli::Command::Stress(args) => commands::stress::run(&args),
        cli::Command::Fixtures(args) => commands::fixtures::run(&args),
    }
}
