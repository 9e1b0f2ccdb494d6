//! The `qnn` binary: the command of the library ([`qnn_cli::main`]) with the in-tree backends
//! (linked by qnn-runtime). A binary with more backends is the same two lines plus a
//! `use backend_… as _;` (see the library's documentation).

fn main() -> std::process::ExitCode {
    qnn_cli::main()
}
