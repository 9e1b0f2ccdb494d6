//! `cargo xtask bench`'s measurement: per layer of the suite and backend, both lowerings
//! timed, what the Capability, CostModel (descriptor figures and calibrated) and Measured
//! policies pick and whether each pick was the fastest; the whole models under each policy.
//! Not a criterion bench: alternating runs, medians, a table and files under `--out` (see
//! `qnn_benches::decisions`).

// Every backend of the machine, named so that the linker keeps their registrations.
#[cfg(target_arch = "aarch64")]
use backend_arm_dotprod as _;
#[cfg(target_arch = "aarch64")]
use backend_arm_neon as _;
#[cfg(target_arch = "x86_64")]
use backend_x86_avx2 as _;
#[cfg(target_arch = "x86_64")]
use backend_x86_vnni as _;

fn main() -> std::process::ExitCode {
    match qnn_benches::decisions::main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
