//! qnn's decision benchmark (`cargo xtask bench`) with this backend linked next to the
//! in-tree ones: per layer, both lowerings timed on every usable backend, `x86-sse41`
//! included, what each policy picks, the whole models; `results.json`, `results.md` and
//! `speedup.svg` under `--out`. `cargo xtask bench --with examples/third-party-backend`
//! builds and runs it.

#[cfg(target_arch = "x86_64")]
use backend_x86_sse41 as _;

fn main() -> std::process::ExitCode {
    match qnn_benches::decisions::main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
