//! One module per `cargo xtask` command. Each builds its list of steps with a pure `plan`
//! function (unit-tested) and runs it with [`crate::steps::run_all`].

pub mod asm_report;
pub mod bench;
pub mod calibrate;
pub mod fixtures;
pub mod fuzz;
pub mod gpu_check;
pub mod miri;
pub mod stress;
pub mod test;
