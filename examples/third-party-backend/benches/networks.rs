//! qnn's network benchmark timing this crate's `qnn` (every in-tree backend and
//! `x86-sse41`): `cargo bench --bench networks -- --nets resnet50 --threads 1`, or
//! `cargo xtask bench --networks --with examples/third-party-backend` from qnn's root.
//! Add `--backend`-style choices through `QNN_BACKEND=x86-sse41` in the environment.

fn main() -> anyhow::Result<()> {
    qnn_benches::networks::main(env!("CARGO_BIN_EXE_qnn"))
}
