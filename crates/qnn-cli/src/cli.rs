//! The command line: subcommands, options and their help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use qnn_ir::limits::Limits;

/// `--threads` above this many threads per core is refused: more threads than that only
/// wait for a core, and each costs a stack.
pub const THREADS_PER_CORE: usize = 16;

/// The most timed or warm-up runs `--repeat` and `--warmup` accept (each timed run keeps its
/// time, 16 bytes, and with `--profile` one per step).
pub const MAX_REPEAT: u32 = 1_000_000;

/// The most `--threads` accepts on this machine.
pub fn max_threads() -> usize {
    THREADS_PER_CORE * qnn_runtime::available_threads()
}

fn parse_threads(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|_| format!("`{s}` is not a thread count"))?;
    let max = max_threads();
    if n > max {
        return Err(format!(
            "{n} threads is more than {THREADS_PER_CORE} per core ({} core(s) here: at most {max})",
            qnn_runtime::available_threads()
        ));
    }
    Ok(n)
}

fn parse_runs(s: &str) -> Result<u32, String> {
    let n: u64 = s.parse().map_err(|_| format!("`{s}` is not a count of runs"))?;
    match u32::try_from(n) {
        Ok(n @ 1..=MAX_REPEAT) => Ok(n),
        _ => Err(format!("{n} runs: give 1 to {MAX_REPEAT}")),
    }
}

fn parse_mib(s: &str) -> Result<u64, String> {
    let n: u64 = s.parse().map_err(|_| format!("`{s}` is not a size in MiB"))?;
    if n == 0 || n > u64::MAX >> 20 {
        return Err(format!("{n} MiB: give 1 to {}", u64::MAX >> 20));
    }
    Ok(n)
}

const ABOUT: &str = "Inspect, legalize and run quantized ONNX and TensorFlow Lite models, bit-exact \
                     with ONNX Runtime and LiteRT";

const LONG_ABOUT: &str = "\
qnn imports quantized ONNX models (QOperator form such as QLinearConv, or QDQ form where \
DequantizeLinear → op → QuantizeLinear groups are folded as ONNX Runtime folds them), chooses \
per convolution/dense the faster exact lowering for the machine (int8 with zero-point terms \
where there is an int8 dot product, int16 otherwise), and runs the model on the backends this \
machine has. Outputs equal ONNX Runtime's bit for bit. Full-integer TensorFlow Lite models \
(.tflite, told apart by content) are read too; their outputs equal LiteRT's builtin kernels'.";

const EXAMPLES: &str = "\
Examples:
  qnn inspect model.onnx
  qnn legalize model.onnx --explain --target aarch64-unknown-linux-gnu:cortex-a53
  qnn run model.onnx -i input_0.npy -o out/ --threads 2 --repeat 50
  qnn targets

Environment:
  QNN_BACKEND=NAME   run every op on one backend (like --backend; `qnn targets` lists them)";

#[derive(Debug, Parser)]
#[command(name = "qnn", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
#[command(propagate_version = true, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a model's inputs, outputs and nodes: ops, shapes, dtypes, quantization
    /// parameters and multiply-accumulates (per node and in total)
    #[command(after_help = "Example:\n  qnn inspect mobilenetv2_qop_pc.onnx\n  \
                            qnn inspect model.onnx --json > model.json")]
    Inspect(InspectArgs),

    /// Lower the model for a target and show the lowered graph and/or each conv/dense
    /// decision (which lowering, which backend) with its reasons
    #[command(after_help = "Examples:\n  qnn legalize model.onnx --explain                \
                            # decisions for this machine\n  \
                            qnn legalize model.onnx --explain --target aarch64-unknown-linux-gnu:cortex-a53\n  \
                            qnn legalize model.onnx --target cuda --emit json > decisions.json\n  \
                            qnn legalize model.onnx --emit ir > lowered.qnn\n\n\
                            Targets: host (default), x86_64-unknown-linux-gnu[:CPU | :+FEATURE,…],\n\
                            aarch64-unknown-linux-gnu[:CPU | :+FEATURE,…] (cortex-a53, neoverse-n1, …), cuda[:sm_XX].\n\
                            `qnn targets` lists the CPU names.")]
    Legalize(LegalizeArgs),

    /// Run a model on .npy inputs and write its outputs as DIR/output_<k>.npy, printing the
    /// latency
    #[command(after_help = "Examples:\n  qnn run model.onnx -i input_0.npy -o out/\n  \
                            qnn run model.onnx -i images=x.npy -o out/ --threads 1 --repeat 100\n  \
                            qnn run model.onnx -i x.npy -o out/ --backend x86-avx2 --report\n  \
                            qnn run model.onnx -i x.npy -o out/ --target cuda      # convolutions on the GPU\n\n\
                            Inputs are matched to the model's graph inputs in order, or by name with \
                            NAME=FILE.npy.\nEach output is written with its ONNX element type \
                            (uint8, int8, uint16, int16, int32, float32), all or nothing: each to a \
                            temporary file in DIR, renamed into place once all are written.\n\n\
                            Limits: --threads at most 16 per core; --repeat and --warmup at most \
                            1000000; one tensor at most --max-tensor-mib (2048), all the model's \
                            values at most --max-graph-mib (16384).\n\
                            Exit status: 0 success, 1 refused or failed (the model, an input, \
                            the machine), 2 usage (an unknown or out-of-range option).")]
    Run(RunArgs),

    /// List the backends built into qnn, whether each can run on this machine, and why not
    #[command(after_help = "Example:\n  qnn targets\n  qnn targets --json")]
    Targets(TargetsArgs),
}

/// The model and the inputs that fix its constants and shapes.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The model: ONNX (.onnx) or TensorFlow Lite (.tflite), told apart by content
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// An input as FILE.npy (graph-input order) or NAME=FILE.npy. Inputs the importer needs as
    /// constants (scales, zero points given as graph inputs) are bound from these files; an
    /// input with symbolic dimensions takes its file's shape
    #[arg(short = 'i', long = "input", value_name = "[NAME=]FILE.npy")]
    pub inputs: Vec<String>,

    /// The shape of a graph input declared with symbolic dimensions (e.g. batch=N), as
    /// NAME=1x3x224x224
    #[arg(long = "shape", value_name = "NAME=DIMS")]
    pub shapes: Vec<String>,

    /// The most memory one tensor (a weight, an input, an activation) may take, in MiB;
    /// a model that declares a larger one is refused before anything is allocated
    #[arg(long, value_name = "MIB", value_parser = parse_mib,
          default_value_t = Limits::DEFAULT.max_tensor_bytes >> 20)]
    pub max_tensor_mib: u64,

    /// The most memory all the values of the model (inputs, constants, every node's output)
    /// may take together, in MiB
    #[arg(long, value_name = "MIB", value_parser = parse_mib,
          default_value_t = Limits::DEFAULT.max_graph_bytes >> 20)]
    pub max_graph_mib: u64,
}

impl ModelArgs {
    /// The resource limits the options set.
    pub fn limits(&self) -> Limits {
        Limits {
            max_tensor_bytes: self.max_tensor_mib << 20,
            max_graph_bytes: self.max_graph_mib << 20,
        }
    }
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub model: ModelArgs,

    /// Print every per-channel scale and zero point instead of their range
    #[arg(long)]
    pub all_params: bool,

    /// Print the inspection as JSON
    #[arg(long)]
    pub json: bool,
}

/// The lowering policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// An int8 dot product on the backend → int8 with zero-point terms, else int16 (TVM's rule)
    Capability,
    /// Estimate both lowerings from the op's shape and the backend's cost figures
    CostModel,
}

/// A lowering forced for every conv/dense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoweringArg {
    /// int8 operands, corrected with zero-point terms
    Int8Terms,
    /// Zero points subtracted first, int16 operands
    Int16Upcast,
}

/// How the target, policy and lowering are chosen (shared by `legalize` and `run`).
#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// The machine to plan for: host (default), TRIPLE[:CPU | :+FEATURE,…] or cuda
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,

    /// How each conv/dense lowering is chosen
    #[arg(long, value_enum, default_value_t = PolicyArg::CostModel)]
    pub policy: PolicyArg,

    /// Force one lowering for every conv/dense (on top of the policy)
    #[arg(long, value_enum)]
    pub lowering: Option<LoweringArg>,
}

/// What `legalize` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// The lowered graph in qnn's text form
    Ir,
    /// The decisions as JSON (per conv/dense: lowering, backend, reasons, estimates, ranges)
    Json,
}

#[derive(Debug, Args)]
pub struct LegalizeArgs {
    #[command(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    pub select: SelectionArgs,

    /// Print the decision table: per conv/dense the lowering, backend, int8 dot product and
    /// why; then what every other quantized op became
    #[arg(long)]
    pub explain: bool,

    /// What to print [default: ir, or nothing more with --explain]
    #[arg(long, value_enum)]
    pub emit: Option<Emit>,

    /// Restrict the target to one backend (as QNN_BACKEND does for `run`)
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub model: ModelArgs,

    /// The folder to write output_<k>.npy into (created if missing)
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    pub out: PathBuf,

    /// Run every op on this backend only (its kernels, then portable ones); overrides
    /// QNN_BACKEND. `qnn targets` lists the backends
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,

    /// Threads of the model's pool (0: one per core; at most 16 per core)
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = parse_threads)]
    pub threads: usize,

    #[command(flatten)]
    pub select: SelectionArgs,

    /// Time this many runs after the warm-up runs and print the median (and minimum); 1 to
    /// 1000000
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = parse_runs)]
    pub repeat: u32,

    /// Untimed runs before the timed ones when --repeat is above 1 (the first run, which
    /// writes the outputs, is one of them); 1 to 1000000
    #[arg(long, value_name = "W", default_value_t = 1, value_parser = parse_runs)]
    pub warmup: u32,

    /// Print the plan: per step the kernel and backend (or why it runs elsewhere)
    #[arg(long)]
    pub report: bool,

    /// Run on qnn-ir's reference interpreter instead of compiling (exact and slow; what
    /// `run` falls back to, with a note, for an op the runtime cannot lower yet)
    #[arg(long)]
    pub reference: bool,

    /// Print each step's time (median over the runs), the compile phases and the peak resident
    /// memory next to the model file, packed weights and arena
    #[arg(long)]
    pub profile: bool,

    /// Print the timing summary as one JSON line instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TargetsArgs {
    /// Print the backends as JSON
    #[arg(long)]
    pub json: bool,
}
