//! What the integration tests share.
#![allow(dead_code)]

use std::io::Write;
pub mod cases;

/// Environment variable: every GPU test must run (a skip is a failure).
pub const REQUIRE_ENV: &str = "QNN_REQUIRE_CUDA";

/// True when `QNN_REQUIRE_CUDA=1`.
pub fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v.trim() == "1")
}

/// True when a CUDA device is usable. Otherwise prints that `test` was SKIPPED and why —
/// or fails when `QNN_REQUIRE_CUDA=1`.
pub fn gpu_or_skip(test: &str) -> bool {
    match backend_cuda_dp4a::probe() {
        Ok(()) => true,
        Err(why) => {
            assert!(!required(), "{test}: no usable CUDA device ({why}) and {REQUIRE_ENV}=1");
            // Straight to stderr: the test harness captures `eprintln!`, a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {test}: {why}. Set {REQUIRE_ENV}=1 to make this a failure."
            );
            false
        }
    }
}
