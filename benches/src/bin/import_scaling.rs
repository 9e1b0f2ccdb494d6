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
//! Seconds on 2 cores of an EPYC (Zen 3) shared with other builds (load average about 6, so
//! about 3× the times of an idle core), 8 channels, one thread; "compile" is legalize +
//! optimize + plan + program. Before issue 14's fixes a shared-initializer chain took 1 s
//! to import at 1k nodes, 54 s at 4k, more than 300 s at 8k.
//!
//! ```text
//!    nodes  inits        MB decode s import s verify s compile s  legal s  optim s   plan s  progr s  total s
//!     1000  Shared      0.1    0.010    0.045    0.036     0.238    0.137    0.049    0.023    0.021    0.330
//!     4000  Shared      0.3    0.009    0.113    0.007     0.874    0.259    0.314    0.189    0.087    1.004
//!    16000  Shared      1.4    0.046    0.430    0.089     4.450    1.404    1.423    1.025    0.465    5.015
//!   100000  Shared      8.7    0.248    3.314    0.327    31.705    9.289   12.468    6.241    2.793   35.595
//!     1000  PerNode     0.3    0.017    0.077    0.005     0.154    0.054    0.045    0.030    0.019    0.253
//!     4000  PerNode     1.4    0.057    0.292    0.017     0.809    0.239    0.258    0.168    0.082    1.174
//!    16000  PerNode     5.6    0.262    1.636    0.113     4.032    1.199    1.286    0.845    0.372    6.043
//!   100000  PerNode    35.9    1.577   11.519    0.620    34.342   10.824   12.186    6.310    2.898   48.058
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
