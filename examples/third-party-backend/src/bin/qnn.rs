//! qnn's `qnn` command with this backend linked: every subcommand, `qnn targets` lists
//! `x86-sse41`, `qnn run --backend x86-sse41` uses it.

#[cfg(target_arch = "x86_64")]
use backend_x86_sse41 as _;

fn main() -> std::process::ExitCode {
    qnn_cli::main()
}
