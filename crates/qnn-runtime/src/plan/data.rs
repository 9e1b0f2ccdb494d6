//! Kernel choice for the typed steps around the convolutions (pooling, element-wise,
//! layout) and for the element-wise groups that are one lookup, in the order the conv
//! kernels are chosen in: the target's backends by priority, `portable` last (these
//! records carry no backend of the legalizer's). Within the first backend that has an
//! applicable kernel, the frame's `choose_pool` / `choose_elementwise` / `choose_transpose`
//! pick it; its plan (`PoolPlan`, `ElementwisePlan`, `TransposePlan`) is made once, here.

use qnn_ir::backend::{KernelEntry, KernelImpl, TransposeConvert, registry};
use qnn_ir::{DType, Op, TensorType};
use qnn_kernels::{
    ElementwisePlan, ElementwiseProblem, ElementwiseSpec, KernelError, PoolGeometry, PoolPlan,
    PoolProblem, TransposePlan, TransposeProblem, choose_elementwise, choose_pool,
    choose_transpose,
};

use super::units::{Unit, UnitKind};
use crate::byte_function::{ChainArg, ChainOp, byte_table};
use crate::optimize::dataflow::{DataOp, DataSpec, Dataflow, Step, StepKind, Vid};

/// What runs a typed step or a lookup group.
#[derive(Debug)]
pub(crate) enum DataRunner {
    Pool(Box<PoolPlan>),
    Elementwise(Box<ElementwisePlan>),
    Transpose(Box<TransposePlan>),
}

/// The kernel kinds of the frame around the convolutions.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Pool,
    Elementwise,
    Transpose,
}

impl Kind {
    fn of(self, imp: &KernelImpl) -> bool {
        matches!(
            (self, imp),
            (Kind::Pool, KernelImpl::Pool(_))
                | (Kind::Elementwise, KernelImpl::Elementwise(_))
                | (Kind::Transpose, KernelImpl::Transpose(_))
        )
    }
}

/// The kernel chosen for a typed step, with its plan.
#[derive(Debug)]
pub(crate) struct ChosenData {
    pub runner: DataRunner,
    pub backend: &'static str,
    pub kernel: &'static str,
    /// Why this one: the backends tried before it and why they had nothing.
    pub note: String,
}

/// The kernel of typed step `step` (`spec`) on the first backend of `backends` that has
/// one; `None` for a step no kernel kind computes (a concatenation of copies, a transpose
/// that is not one block swap, which the runtime's own data movement runs).
pub(crate) fn choose_data(
    p: &Dataflow,
    step: &Step,
    spec: &DataSpec,
    backends: &[&str],
) -> Option<Result<ChosenData, String>> {
    let ty = |v: usize| &p.values[v].ty;
    let input = ty(step.inputs[0]);
    let output = ty(step.output);
    match &spec.op {
        DataOp::Pool { op, pool, count_include_pad, pad_value } => {
            let [n, c, h, w] = pool.layout.nchw(&input.shape);
            let geometry = PoolGeometry {
                batch: n,
                in_h: h,
                in_w: w,
                channels: c,
                kernel: pool.kernel,
                strides: pool.strides,
                padding: pool.padding,
                dilation: pool.dilation,
            };
            let problem = PoolProblem {
                output: output.dtype,
                op: *op,
                count_include_pad: *count_include_pad,
                pad_value: *pad_value,
                ..PoolProblem::max(geometry, input.dtype)
            };
            let nhwc = pool.layout == qnn_ir::DataLayout::Nhwc;
            Some(if nhwc {
                in_order(backends, Kind::Pool, |order| {
                    let k = choose_pool(order, &problem)?;
                    Ok((DataRunner::Pool(Box::new(PoolPlan::new(&problem, k)?)), k))
                })
            } else {
                Err("the pooling kernels take NHWC data".into())
            })
        }
        DataOp::Elementwise(e) => {
            let b = step.inputs.get(1).map_or(input.dtype, |&v| ty(v).dtype);
            Some(elementwise(
                e.clone(),
                (input.dtype, b, output.dtype),
                output.shape.iter().product(),
                backends,
            ))
        }
        DataOp::Transpose { perm, convert } => {
            let swap = block_swap(&input.shape, perm);
            let plain = *convert == TransposeConvert::None;
            // Unit axes only, or not a block swap: the runtime's own data movement.
            let (images, rows, cols) = match swap {
                Some((_, rows, cols)) if plain && (rows == 1 || cols == 1) => return None,
                Some(swap) => swap,
                None if plain => return None,
                None => return Some(Err(format!("{perm:?} is not one block swap"))),
            };
            let problem = TransposeProblem {
                convert: *convert,
                dtypes: (input.dtype, output.dtype),
                images,
                rows,
                cols,
            };
            Some(in_order(backends, Kind::Transpose, |order| {
                let k = choose_transpose(order, &problem)?;
                Ok((DataRunner::Transpose(Box::new(TransposePlan::new(&problem, k)?)), k))
            }))
        }
        DataOp::Concat { .. } => None,
    }
}

/// The kernel of a core op step that one kernel kind computes as it is: a `transpose` that
/// swaps two blocks of axes (a graph's own layout change).
pub(crate) fn choose_op(
    p: &Dataflow,
    step: &Step,
    op: &Op,
    backends: &[&str],
) -> Option<Result<ChosenData, String>> {
    let Op::Transpose { perm } = op else { return None };
    let (images, rows, cols) = block_swap(&p.values[step.inputs[0]].ty.shape, perm)?;
    if rows == 1 || cols == 1 {
        return None;
    }
    let dtype = p.values[step.inputs[0]].ty.dtype;
    let convert = TransposeConvert::None;
    let problem = TransposeProblem { convert, dtypes: (dtype, dtype), images, rows, cols };
    // A dtype of another size (none today) keeps the runtime's own transpose.
    problem.validate().ok()?;
    Some(in_order(backends, Kind::Transpose, |order| {
        let k = choose_transpose(order, &problem)?;
        Ok((DataRunner::Transpose(Box::new(TransposePlan::new(&problem, k)?)), k))
    }))
}

/// The element-wise kernel of `spec` on `n` elements of `dtypes`.
fn elementwise(
    spec: ElementwiseSpec,
    dtypes: (DType, DType, DType),
    n: usize,
    backends: &[&str],
) -> Result<ChosenData, String> {
    let problem = ElementwiseProblem { spec, dtypes, n };
    in_order(backends, Kind::Elementwise, |order| {
        let k = choose_elementwise(order, &problem)?;
        Ok((DataRunner::Elementwise(Box::new(ElementwisePlan::new(&problem, k)?)), k))
    })
}

/// The group of `unit` as one lookup, when it is a function of one 8-bit value: one runtime
/// input of the 8-bit dtype, every other operand a one-element constant, one 8-bit value of
/// the input's shape stored (plainly). The table is the reference's value of the group's
/// ops on every input byte ([`byte_table`]); a group for which the reference reports an
/// error on some byte (an integer overflow) stays a group, which reports it.
pub(crate) fn lookup(
    p: &Dataflow,
    unit: &Unit,
    backends: &[&str],
) -> Option<Result<ChosenData, String>> {
    let UnitKind::Group { members, stores } = &unit.kind else { return None };
    let (&[input], [(out, None)]) = (&unit.inputs[..], &stores[..]) else { return None };
    let table = group_table(p, members, input, *out)?;
    let (tin, tout) = (&p.values[input].ty, &p.values[*out].ty);
    let spec = ElementwiseSpec::Lookup { table: Box::new(table) };
    let n = tout.shape.iter().product();
    Some(elementwise(spec, (tin.dtype, tin.dtype, tout.dtype), n, backends))
}

/// The table of the element-wise group `members` from `input` to `out`, when it is one
/// function of an 8-bit value (see [`lookup`]).
pub(crate) fn group_table(
    p: &Dataflow,
    members: &[usize],
    input: Vid,
    out: Vid,
) -> Option<[u8; 256]> {
    let (tin, tout): (&TensorType, &TensorType) = (&p.values[input].ty, &p.values[out].ty);
    if tin.shape != tout.shape {
        return None;
    }
    let mut ops = Vec::with_capacity(members.len());
    for &m in members {
        let s = &p.steps[m];
        let StepKind::Op(op) = &s.kind else { return None };
        let inputs = s
            .inputs
            .iter()
            .map(|&v| match p.constant(v) {
                Some(t) => ChainArg::Const(t),
                None => ChainArg::Value(v),
            })
            .collect();
        ops.push(ChainOp { op, inputs, output: s.output });
    }
    byte_table(input, tin.dtype, &ops, out, tout.dtype)
}

/// `(images, rows, cols)` when `perm` swaps two adjacent blocks of trailing axes of
/// `shape` (NCHW → NHWC: `[0, 2, 3, 1]`, rows C, columns H·W; NHWC → NCHW: `[0, 3, 1, 2]`).
fn block_swap(shape: &[usize], perm: &[usize]) -> Option<(usize, usize, usize)> {
    let k = (0..perm.len()).find(|&i| perm[i] != i)?;
    let j = perm[k];
    let expect: Vec<usize> = (j..perm.len()).chain(k..j).collect();
    let product = |axes: &[usize]| axes.iter().product::<usize>();
    let (images, rows, cols) = (product(&shape[..k]), product(&shape[k..j]), product(&shape[j..]));
    (perm[k..] == expect[..]).then_some((images, rows, cols))
}

/// The first backend of `backends` whose kernel `plan` plans, with the note of those tried
/// before it that have kernels of the `kind` (a backend without any — a conv-only backend —
/// is passed over silently); `Err` says, per backend, why none did.
fn in_order(
    backends: &[&str],
    kind: Kind,
    plan: impl Fn(&[&str]) -> Result<(DataRunner, &'static KernelEntry), KernelError>,
) -> Result<ChosenData, String> {
    let mut skipped = Vec::new();
    let has_kind = |b: &str| registry::kernels_of(b).iter().any(|k| kind.of(&k.imp));
    for &b in backends.iter().filter(|&&b| has_kind(b)) {
        match plan(&[b]) {
            Ok((runner, k)) => {
                let note = if skipped.is_empty() {
                    String::new()
                } else {
                    format!("fallback; {}", skipped.join("; "))
                };
                return Ok(ChosenData { runner, backend: k.backend, kernel: k.name, note });
            }
            Err(e) => skipped.push(e.to_string()),
        }
    }
    Err(if skipped.is_empty() {
        format!("none of {} registers a {kind:?} kernel", backends.join(", "))
    } else {
        skipped.join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_conversions_are_block_swaps() {
        assert_eq!(block_swap(&[2, 3, 4, 5], &[0, 2, 3, 1]), Some((2, 3, 20)));
        assert_eq!(block_swap(&[2, 4, 5, 3], &[0, 3, 1, 2]), Some((2, 20, 3)));
        assert_eq!(block_swap(&[4, 5], &[1, 0]), Some((1, 4, 5)));
        assert_eq!(block_swap(&[1, 8, 1, 1], &[0, 2, 3, 1]), Some((1, 8, 1)));
        // Not one swap, or the identity.
        assert_eq!(block_swap(&[2, 3, 4, 5], &[0, 2, 1, 3]), None);
        assert_eq!(block_swap(&[2, 3], &[0, 1]), None);
    }
}
