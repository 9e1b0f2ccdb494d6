//! Execution: runs a [`Program`]'s steps, in order, on one run's arena — kernels, device
//! ops, element-wise programs, data movement and reductions, the reference interpreter —
//! each step borrowing its outputs and inputs from the arena apart ([`arena`]).

pub(crate) mod arena;
pub(crate) mod elementwise;
mod movement;
mod reduce;

use std::ops::Range;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use qnn_ir::Tensor;
use qnn_ir::reference::eval_op;
use qnn_kernels::{Scratch, ThreadPool};

use crate::error::RuntimeError;
use crate::optimize::layout::{PHYSICAL, TO_NHWC, transpose};
use crate::program::elementwise::ElementwiseGroup;
use crate::program::{Buf, ExecKind, ExecStep, Program, tensors};
use arena::split;

/// Runs `program` on `inputs` (checked by the caller) in `arena` (its planned size) with
/// `scratch` and `pool`, timing each step into `times` when given; returns the outputs.
pub(crate) fn run(
    program: &Program,
    arena: &mut [u8],
    scratch: &mut Scratch,
    pool: &ThreadPool,
    inputs: &[Tensor],
    mut times: Option<&mut Vec<Duration>>,
) -> Result<Vec<Tensor>, RuntimeError> {
    for ((_, _, r), t) in program.inputs.iter().zip(inputs) {
        tensors::write_bytes(t, &mut arena[r.clone()]);
    }
    for step in &program.steps {
        let start = times.is_some().then(Instant::now);
        step.run(arena, &program.consts, scratch, pool)?;
        if let (Some(t), Some(s)) = (times.as_deref_mut(), start) {
            t.push(s.elapsed());
        }
    }
    program
        .outputs
        .iter()
        .map(|(ty, b)| {
            let bytes = match b {
                Buf::Arena(r) => &arena[r.clone()],
                Buf::Const(i) => program.consts[*i].as_slice(),
            };
            tensors::from_bytes(ty, bytes)
        })
        .collect()
}

/// Element-wise groups smaller than this run on the calling thread only.
const PARALLEL_ELEMENTS: usize = 32 * 1024;

impl ExecStep {
    fn run(
        &self,
        arena: &mut [u8],
        consts: &[Vec<u8>],
        scratch: &mut Scratch,
        pool: &ThreadPool,
    ) -> Result<(), RuntimeError> {
        let (mut outs, shared) = split(arena, &self.outputs)?;
        let inputs = self
            .inputs
            .iter()
            .map(|b| match b {
                Buf::Arena(r) => shared.get(r),
                Buf::Const(i) => Ok(consts[*i].as_slice()),
            })
            .collect::<Result<Vec<&[u8]>, _>>()?;
        let ir = |e: qnn_ir::IrError| RuntimeError::Ir(e.in_node(&self.name));
        let out = outs.first_mut().map(|o| &mut **o);
        match (&self.kind, out) {
            (ExecKind::Conv { plan, kernel }, Some(out)) => {
                plan.run(inputs[0], out, scratch, pool).map_err(|source| RuntimeError::Kernel {
                    node: self.name.clone(),
                    kernel: kernel.to_string(),
                    source,
                })
            }
            (ExecKind::Device { op, kernel }, Some(out)) => op.run(inputs[0], out).map_err(|why| {
                RuntimeError::Device { node: self.name.clone(), kernel: kernel.to_string(), why }
            }),
            (ExecKind::Unprepared { kernel }, _) => Err(RuntimeError::Internal(format!(
                "{}: device kernel `{kernel}` was planned, not prepared",
                self.name
            ))),
            (ExecKind::Elementwise(g), _) => run_group(g, &inputs, &mut outs, pool),
            (ExecKind::Transpose(t), Some(out)) => {
                t.run(inputs[0], out);
                Ok(())
            }
            (ExecKind::Copy, Some(out)) => {
                out.copy_from_slice(inputs[0]);
                Ok(())
            }
            (ExecKind::Concat { shapes, axis, elem }, Some(out)) => {
                movement::concatenate(shapes, *axis, *elem, &inputs, out);
                Ok(())
            }
            (ExecKind::ResizeNearest(r), Some(out)) => {
                movement::resize_nearest(r, inputs[0], out, pool)
                    .map_err(|e| self.kernel_error("resize_nearest_copy", e))
            }
            (ExecKind::Sum(s), Some(out)) => s.run("sum", inputs[0], out).map_err(ir),
            (ExecKind::Pool(p), Some(out)) => p.run("pool2d", inputs[0], out).map_err(ir),
            (ExecKind::PoolKernel { plan, kernel }, Some(out)) => {
                plan.run(inputs[0], out, pool).map_err(|e| self.kernel_error(kernel, e))
            }
            (ExecKind::ElementwiseKernel { plan, kernel }, Some(out)) => plan
                .run(inputs[0], inputs.get(1).copied(), out, pool)
                .map_err(|e| self.kernel_error(kernel, e)),
            (ExecKind::TransposeKernel { plan, kernel }, Some(out)) => {
                plan.run(inputs[0], out, pool).map_err(|e| self.kernel_error(kernel, e))
            }
            (ExecKind::Unfused { graph, inputs: stored, output }, Some(out)) => {
                // Each distinct value once (the unfused graph has one input per value).
                let xs = stored
                    .iter()
                    .zip(&inputs)
                    .filter_map(|(s, b)| Some((s.as_ref()?, b)))
                    .map(|(s, b)| {
                        let x = tensors::from_bytes(&s.ty, b)?;
                        Ok(if s.nhwc { transpose(&x, &PHYSICAL) } else { x })
                    })
                    .collect::<Result<Vec<_>, RuntimeError>>()?;
                let y = qnn_ir::reference::run(graph, &xs).map_err(ir)?;
                let y = y.into_iter().next().ok_or_else(|| internal(&self.name, "no output"))?;
                let y = if output.nhwc { transpose(&y, &TO_NHWC) } else { y };
                if y.ty() != output.ty {
                    return Err(internal(
                        &self.name,
                        &format!("the unfused graph gave {}", y.ty()),
                    ));
                }
                tensors::write_bytes(&y, out);
                Ok(())
            }
            (ExecKind::Reference { op, inputs: types, output }, Some(out)) => {
                let tensors = types
                    .iter()
                    .zip(&inputs)
                    .map(|(t, b)| tensors::from_bytes(t, b))
                    .collect::<Result<Vec<_>, _>>()?;
                let refs: Vec<&qnn_ir::Tensor> = tensors.iter().collect();
                let y = eval_op(op, &refs).map_err(ir)?;
                if y.ty() != *output {
                    return Err(RuntimeError::Internal(format!(
                        "{}: the reference gave {}, the plan expected {output}",
                        self.name,
                        y.ty()
                    )));
                }
                tensors::write_bytes(&y, out);
                Ok(())
            }
            (_, None) => Err(RuntimeError::Internal(format!("{}: no output buffer", self.name))),
        }
    }
}

impl ExecStep {
    fn kernel_error(&self, kernel: &str, source: qnn_kernels::KernelError) -> RuntimeError {
        RuntimeError::Kernel { node: self.name.clone(), kernel: kernel.to_string(), source }
    }
}

fn internal(step: &str, what: &str) -> RuntimeError {
    RuntimeError::Internal(format!("{step}: {what}"))
}

/// Runs a group over all its elements, split over the pool when it is large.
fn run_group(
    g: &ElementwiseGroup,
    inputs: &[&[u8]],
    outs: &mut [&mut [u8]],
    pool: &ThreadPool,
) -> Result<(), RuntimeError> {
    let overflow = |o: elementwise::Overflow| RuntimeError::ValueOutOfRange {
        op: o.op,
        value: o.value,
        dtype: o.dtype,
    };
    // Scattered (transposed) stores write all over their outputs: one task.
    let scattered = g.scatter.iter().any(Option::is_some);
    let tasks = if g.len >= PARALLEL_ELEMENTS && !scattered {
        pool.threads().min(g.len / 4096).max(1)
    } else {
        1
    };
    if tasks == 1 {
        return g.run(inputs, outs, 0..g.len, &mut g.registers()).map_err(overflow);
    }
    // Each task gets its own disjoint part of every output.
    let ranges: Vec<Range<usize>> =
        (0..tasks).map(|t| qnn_kernels::threads::split(g.len, tasks, t)).collect();
    let mut parts: Vec<Vec<&mut [u8]>> = (0..tasks).map(|_| Vec::new()).collect();
    for (out, &(_, dtype)) in outs.iter_mut().zip(&g.stores) {
        let mut rest: &mut [u8] = out;
        for (t, r) in ranges.iter().enumerate() {
            let (head, tail) = rest.split_at_mut(r.len() * dtype.size_bytes());
            parts[t].push(head);
            rest = tail;
        }
    }
    let parts: Vec<Mutex<Vec<&mut [u8]>>> = parts.into_iter().map(Mutex::new).collect();
    let error: Mutex<Option<elementwise::Overflow>> = Mutex::new(None);
    pool.run(tasks, &|t| {
        let mut mine = parts[t].lock().unwrap_or_else(|e| e.into_inner());
        if let Err(o) = g.run(inputs, &mut mine, ranges[t].clone(), &mut g.registers()) {
            *error.lock().unwrap_or_else(|e| e.into_inner()) = Some(o);
        }
    })
    .map_err(|source| RuntimeError::Kernel {
        node: "element-wise group".into(),
        kernel: "elementwise".into(),
        source,
    })?;
    match error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(o) => Err(overflow(o)),
        None => Ok(()),
    }
}
