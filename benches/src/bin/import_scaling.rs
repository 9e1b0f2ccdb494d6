//! How import, verification and compilation scale with the node count: a chain of 1×1
//! `QLinearConv`s (`qnn_onnx::synth::qlinearconv_chain`) of 1k to 100k nodes, with one set of
//! initializers shared by every node and with per-node initializers. Each phase should grow
//! linearly (or n log n); a quadratic spot shows as a ×16 per ×4 nodes.
//!
//! ```sh
//! cargo run --release -p qnn-benches --bin import_scaling              # 1k, 4k, 16k, 100k
//! cargo run --release -p qnn-benches --bin import_scaling -- 1000 2000  # chosen sizes
//! ```

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use qnn_onnx::synth::{Initializers, qlinearconv_chain};
use qnn_onnx::{ImportOptions, Model};
use qnn_runtime::{CompileOptions, Compiler};

fn main() -> Result<()> {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().with_context(|| format!("`{a}` is not a node count")))
        .collect::<Result<_>>()?;
    if sizes.is_empty() {
        sizes = vec![1_000, 4_000, 16_000, 100_000];
    }
    println!(
        "{:>8}  {:<8} {:>6} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "nodes",
        "inits",
        "MB",
        "decode s",
        "import s",
        "verify s",
        "compile s",
        "legal s",
        "optim s",
        "plan s",
        "progr s",
        "total s"
    );
    for init in [Initializers::Shared, Initializers::PerNode] {
        for &n in &sizes {
            let bytes = qlinearconv_chain(n, 8, init);
            let (model, decode) = timed(|| Model::from_bytes(&bytes))?;
            let (imported, import) = timed(|| model.import(&ImportOptions::default()))?;
            let (_, verify) = timed(|| imported.graph.verify())?;
            let opts = CompileOptions::new().threads(1);
            let (compiled, compile) = timed(|| Compiler::new(opts).compile(&imported.graph))?;
            let total = decode + import + verify + compile;
            let phases = compiled.compile_phases().named().map(|(_, t)| t.as_secs_f64());
            println!(
                "{n:>8}  {:<8} {:>6.1} {:>8.3} {:>8.3} {:>8.3} {:>9.3} {:>8.3} {:>8.3} {:>8.3} \
                 {:>8.3} {:>8.3}",
                format!("{init:?}"),
                bytes.len() as f64 / 1e6,
                decode.as_secs_f64(),
                import.as_secs_f64(),
                verify.as_secs_f64(),
                compile.as_secs_f64(),
                phases[0],
                phases[1],
                phases[2],
                phases[3],
                total.as_secs_f64()
            );
        }
    }
    Ok(())
}

fn timed<T, E: std::error::Error + Send + Sync + 'static>(
    f: impl FnOnce() -> Result<T, E>,
) -> Result<(T, Duration)> {
    let t = Instant::now();
    let v = f()?;
    Ok((v, t.elapsed()))
}
