//! Executable steps: what each planned step runs, on which bytes.

pub(crate) mod data;
pub(crate) mod elementwise;
pub(crate) mod tensors;

use std::ops::Range;
use std::sync::Mutex;

use qnn_ir::reference::eval_op;
use qnn_ir::{Op, TensorType};
use qnn_kernels::{ConvPlan, Scratch, ThreadPool};

use crate::error::RuntimeError;
use crate::plan::arena::split;
use crate::plan::device::DeviceOp;
use data::{Pool, SumBlock, Transpose};
use elementwise::ElementwiseGroup;

/// Where a step's input lives.
#[derive(Debug, Clone)]
pub(crate) enum Buf {
    Arena(Range<usize>),
    /// Index into the model's constants.
    Const(usize),
}

/// How a step computes.
#[derive(Debug)]
pub(crate) enum ExecKind {
    Conv {
        plan: Box<ConvPlan>,
        kernel: &'static str,
    },
    /// A fused conv/dense prepared on a device: the input is copied there and the output
    /// back on every run.
    Device {
        op: DeviceOp,
        kernel: &'static str,
    },
    /// A device op placed by `Compiler::plan` and never prepared: such a model is only
    /// reported, never returned, so this is never run.
    Unprepared {
        kernel: &'static str,
    },
    Elementwise(ElementwiseGroup),
    Transpose(Transpose),
    Copy,
    Concat {
        shapes: Vec<Vec<usize>>,
        axis: usize,
        elem: usize,
    },
    Sum(SumBlock),
    Pool(Pool),
    /// The reference kernel of `op` on tensors of these types.
    Reference {
        op: Op,
        inputs: Vec<TensorType>,
        output: TensorType,
    },
}

/// One step of a compiled model.
#[derive(Debug)]
pub(crate) struct ExecStep {
    pub name: String,
    pub kind: ExecKind,
    pub inputs: Vec<Buf>,
    pub outputs: Vec<Range<usize>>,
}

/// Element-wise groups smaller than this run on the calling thread only.
const PARALLEL_ELEMENTS: usize = 32 * 1024;

impl ExecStep {
    pub(crate) fn run(
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
                data::concatenate(shapes, *axis, *elem, &inputs, out);
                Ok(())
            }
            (ExecKind::Sum(s), Some(out)) => s.run("sum", inputs[0], out).map_err(ir),
            (ExecKind::Pool(p), Some(out)) => p.run("pool2d", inputs[0], out).map_err(ir),
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
