//! A compiled model: immutable, `Send + Sync`, runnable from several threads at once.

use std::time::Duration;

use qnn_ir::{Tensor, TensorType};
use qnn_kernels::{Scratch, ThreadPool};

use crate::error::RuntimeError;
use crate::exec;
use crate::plan::report::PlanReport;
use crate::program::Program;

/// A graph compiled for this machine. Running it never mutates it: every run works in its
/// own [`Workspace`] (activation arena and kernel scratch), so one model can serve any number
/// of threads, and a thread may keep a workspace to avoid reallocating it per run. The
/// model's thread pool runs one parallel step at a time; concurrent runs interleave their
/// steps on it and get identical results.
#[derive(Debug)]
pub struct CompiledModel {
    pub(crate) name: String,
    pub(crate) program: Program,
    pub(crate) pool: ThreadPool,
    pub(crate) report: PlanReport,
    pub(crate) phases: CompilePhases,
}

/// Where compilation spent its time (wall time of each pass), for `qnn run --profile`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CompilePhases {
    /// Legalization: range analysis, lowering choice, records (zero for a lowered graph).
    pub legalize: Duration,
    /// Fold, fuse, layout.
    pub optimize: Duration,
    /// Kernel choice, weight packing, units, arena.
    pub plan: Duration,
    /// The program: steps, buffers, constants.
    pub program: Duration,
}

impl CompilePhases {
    /// `(name, time)` per pass, in the order they run.
    pub fn named(&self) -> [(&'static str, Duration); 4] {
        [
            ("legalize", self.legalize),
            ("optimize", self.optimize),
            ("plan", self.plan),
            ("program", self.program),
        ]
    }
}

/// Per-run memory: the activation arena and the kernels' scratch.
#[derive(Debug, Default)]
pub struct Workspace {
    arena: Vec<u8>,
    scratch: Scratch,
}

/// Arena offsets are planned from a 64-byte boundary.
const ARENA_ALIGN: usize = 64;

/// `bytes` of `arena`, starting on a 64-byte boundary (grown once, then reused).
fn aligned(arena: &mut Vec<u8>, bytes: usize) -> &mut [u8] {
    if arena.len() < bytes + ARENA_ALIGN {
        *arena = vec![0u8; bytes + ARENA_ALIGN];
    }
    let off = arena.as_ptr().align_offset(ARENA_ALIGN).min(ARENA_ALIGN);
    &mut arena[off..off + bytes]
}

impl CompiledModel {
    /// Runs the model on `inputs` (one per graph input, in order, of the declared types) and
    /// returns its outputs.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        self.run_with(&mut Workspace::default(), inputs)
    }

    /// [`run`](Self::run) in a caller-kept workspace.
    pub fn run_with(
        &self,
        ws: &mut Workspace,
        inputs: &[Tensor],
    ) -> Result<Vec<Tensor>, RuntimeError> {
        self.run_timed(ws, inputs, None)
    }

    /// [`run_with`](Self::run_with), also returning the wall time of each step (in the order
    /// of [`PlanReport::steps`]).
    pub fn run_profiled(
        &self,
        ws: &mut Workspace,
        inputs: &[Tensor],
    ) -> Result<(Vec<Tensor>, Vec<Duration>), RuntimeError> {
        let mut times = Vec::with_capacity(self.program.steps.len());
        let out = self.run_timed(ws, inputs, Some(&mut times))?;
        Ok((out, times))
    }

    fn run_timed(
        &self,
        ws: &mut Workspace,
        inputs: &[Tensor],
        times: Option<&mut Vec<Duration>>,
    ) -> Result<Vec<Tensor>, RuntimeError> {
        self.check_inputs(inputs)?;
        let arena = aligned(&mut ws.arena, self.program.arena_bytes);
        exec::run(&self.program, arena, &mut ws.scratch, &self.pool, inputs, times)
    }

    fn check_inputs(&self, inputs: &[Tensor]) -> Result<(), RuntimeError> {
        if inputs.len() != self.program.inputs.len() {
            return Err(RuntimeError::InputCount {
                model: self.name.clone(),
                expected: self.program.inputs.len(),
                names: self
                    .program
                    .inputs
                    .iter()
                    .map(|i| i.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                got: inputs.len(),
            });
        }
        for (index, ((name, ty, _), t)) in self.program.inputs.iter().zip(inputs).enumerate() {
            if t.dtype() != ty.dtype {
                return Err(RuntimeError::InputDType {
                    index,
                    name: name.clone(),
                    expected: ty.dtype,
                    got: t.dtype(),
                });
            }
            if t.shape() != ty.shape.as_slice() {
                return Err(RuntimeError::InputShape {
                    index,
                    name: name.clone(),
                    expected: ty.shape.clone(),
                    got: t.shape().to_vec(),
                });
            }
        }
        Ok(())
    }

    /// The plan: per step, what runs it and why.
    pub fn report(&self) -> &PlanReport {
        &self.report
    }

    /// The wall time of each compilation pass.
    pub fn compile_phases(&self) -> CompilePhases {
        self.phases
    }

    /// Threads of the model's pool.
    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// The graph inputs: names and types.
    pub fn inputs(&self) -> Vec<(String, TensorType)> {
        self.program.inputs.iter().map(|(n, t, _)| (n.clone(), t.clone())).collect()
    }

    /// The output types.
    pub fn outputs(&self) -> Vec<TensorType> {
        self.program.outputs.iter().map(|(t, _)| t.clone()).collect()
    }

    /// Bytes of one run's activation arena.
    pub fn arena_bytes(&self) -> usize {
        self.program.arena_bytes
    }
}
