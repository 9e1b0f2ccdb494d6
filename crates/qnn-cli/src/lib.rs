//! `qnn`: inspect, legalize and run quantized ONNX models; list the backends.
//!
//! ```text
//! qnn inspect  MODEL                       ops, shapes, dtypes, quantization parameters, MACs
//! qnn legalize MODEL [--target T] [--policy P] [--explain] [--emit ir|json]
//! qnn run      MODEL -i FILE.npy … -o DIR [--backend B] [--threads N] [--target T] [--repeat K]
//! qnn targets                              backends, usable here or why not
//! ```
//!
//! `qnn run` is the runner contract of the peers' `check_outputs.py`: it writes
//! `DIR/output_<k>.npy` with each ONNX output's element type and exits non-zero on failure.
//!
//! The command is a library so that a binary with more backends is two lines. A third
//! party's whole `qnn`, with every subcommand and their backend next to the in-tree ones:
//!
//! ```ignore
//! use backend_myisa as _; // registration happens at link time: name the crate
//!
//! fn main() -> std::process::ExitCode {
//!     qnn_cli::main()
//! }
//! ```
//!
//! `qnn targets` then lists `myisa`, and `qnn run --backend myisa` uses it.

// The backends (x86, Arm, CUDA, portable) are linked by qnn-runtime, which names every one.

mod cli;
mod commands;
mod constants;
mod engine;
mod load;
mod memory;
mod out;
mod outputs;
mod selection;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// The `qnn` command: parses `std::env::args`, runs the subcommand, prints an error with
/// its causes on failure. Every backend linked into the calling binary is available.
///
/// Exit status: 0 success, 1 refused or failed (the model, an input, the output folder, the
/// machine), 2 usage (an unknown option, a value out of range).
pub fn main() -> ExitCode {
    // Usage errors exit with 2 here (clap).
    let cli = Cli::parse();
    let dispatch = || match &cli.command {
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Legalize(a) => commands::legalize::run(a),
        Command::Run(a) => commands::run::run(a),
        Command::Targets(a) => commands::targets::run(a),
    };
    // Exit statuses are 0, 1 and 2: a panic is a bug, reported as a failure (1) after the
    // panic message rather than as Rust's 101.
    let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(dispatch)) {
        Ok(r) => r,
        Err(_) => {
            eprintln!("error: internal error in qnn (a bug: please report the message above)");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            // Some errors print their source inside their own message: say each thing once.
            let mut last = e.to_string();
            for cause in e.chain().skip(1) {
                let text = cause.to_string();
                if !last.ends_with(&text) {
                    eprintln!("  because: {text}");
                }
                last = text;
            }
            ExitCode::FAILURE
        }
    }
}
