//! How import, verification and compilation scale with the node count: a chain of 1×1
//! `QLinearConv`s (`qnn_onnx::synth::qlinearconv_chain`) of 1k to 100k nodes, with one set of
//! initializers shared by every node and with per-node initializers. Each phase should grow
//! linearly (or n log n); a quadratic spot shows as a ×16 per ×4 nodes.
//!
//! ```sh
//! cargo run --release -p qnn-benches --bin import_scaling              # 1k, 4k, 16k, 100k
//! cargo run --release -p qnn-benches --bin import_scaling -- 1000 2000  # chosen sizes
//! ```
//!
//! Seconds on 2 cores of an EPYC (Zen 3) shared with other builds, 8 channels, one thread;
//! "compile" is legalize + optimize + plan + program. Before issue 14's fixes a
//! shared-initializer chain took 1 s to import at 1k nodes, 54 s at 4k, more than 300 s at
//! 8k. The box was oversubscribed when these were taken (load average about 13 on 2 cores:
//! the wall times below are 5–12× the process's CPU time, so read them as a curve, not as
//! absolute figures). Before the per-node constant factors were cut (constant-factor work of
//! issue 14, measured side by side in one run): 100k nodes compile in 181 s (shared) and
//! 207 s (per node), 60.1 s of CPU for the whole table; after, 37.4 s of CPU:
//!
//! ```text
//!    nodes  inits        MB decode s import s verify s compile s  legal s  optim s   plan s  progr s  total s
//!     1000  Shared      0.1    0.001    0.064    0.000     0.424    0.161    0.082    0.034    0.106    0.489
//!     4000  Shared      0.3    0.047    0.236    0.021     2.391    0.968    0.733    0.249    0.347    2.695
//!    16000  Shared      1.4    0.205    1.900    0.137    15.832    4.637    5.569    2.061    2.339   18.073
//!   100000  Shared      8.7    1.141   16.539    1.095   111.182   47.036   31.733   10.592   13.746  129.957
//!     1000  PerNode     0.3    0.036    0.179    0.001     0.312    0.124    0.061    0.062    0.034    0.528
//!     4000  PerNode     1.4    0.156    0.985    0.051     1.846    0.734    0.523    0.293    0.197    3.038
//!    16000  PerNode     5.6    0.939    6.220    0.252    10.298    4.486    2.225    1.219    1.128   17.709
//!   100000  PerNode    35.9    9.462   78.705    2.259   144.342   58.944   39.825   15.876   20.049  234.768
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
