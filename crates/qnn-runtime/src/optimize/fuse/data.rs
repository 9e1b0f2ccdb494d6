//! The typed steps around the convolutions, read off the legalizer's records as the conv
//! chains are (`chain.rs`): a pooling, float-mode `qnn.add`, per-tensor quantize or
//! dequantize, or concatenation record whose form a kernel kind of the frame computes
//! becomes one [`DataSpec`] replacing the nodes it emitted (a concatenation: a copy step,
//! and a lookup step per input it requantizes). So does a core `lookup` (QLinearLeakyRelu,
//! QLinearSigmoid). Every other form — per-axis parameters, the fixed-point add,
//! broadcasting or mixed-dtype operands, i16/i32 data — keeps its nodes, which run as
//! element-wise groups or on the reference; so does a record that folding changed.
//!
//! Each spec is checked by the frame's own `validate` here, so a kernel of its kind can take
//! it (a target without one falls back to the reference, exactly, with a note).

use std::sync::Arc;

use qnn_ir::backend::PoolOp;
use qnn_ir::{Graph, Op, Pool2dAttrs, PoolKind, ValueDef, ValueId, window_output};
use qnn_kernels::{ElementwiseProblem, ElementwiseSpec, PoolGeometry, PoolProblem};
use qnn_legalize::record::{
    AddForm, AddRecord, ConcatPart, ConcatRecord, DequantizeRecord, PoolForm, PoolRecord,
    QuantizeRecord, SumForm,
};
use qnn_legalize::{Record, RecordKind};

use super::subgraph::subgraph;
use crate::byte_function::{ChainArg, ChainOp, byte_table};
use crate::optimize::dataflow::{DataOp, DataSpec};

/// A typed step as fusion places it: the spec, the values it reads (of the output's shape,
/// but a pool's input) and the one it defines.
#[derive(Debug)]
pub(crate) struct Typed {
    pub spec: DataSpec,
    pub inputs: Vec<ValueId>,
    pub output: ValueId,
}
use crate::optimize::fold::Folded;

/// The typed steps of `records` in `folded`, none touching a node of `taken` (the fused
/// conv/dense chains').
pub(crate) fn from_records(folded: &Folded, records: &[Record], taken: &[bool]) -> Vec<Typed> {
    let g = &folded.graph;
    let users = g.users();
    let mut specs = Vec::new();
    for r in records {
        let Some(nodes) = r.nodes.iter().map(|&n| folded.node(n)).collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        if nodes.is_empty() || nodes.iter().any(|&n| taken[n]) {
            continue;
        }
        let Some(output) = folded.value(r.output) else { continue };
        let rec = Rec { g, nodes: &nodes, output, users: &users };
        match &r.kind {
            RecordKind::Pool(p) => specs.extend(rec.pool(folded, p)),
            RecordKind::Add(a) => specs.extend(rec.add(folded, a)),
            RecordKind::Quantize(q) => specs.extend(rec.quantize(folded, q)),
            RecordKind::Dequantize(d) => specs.extend(rec.dequantize(folded, d)),
            RecordKind::Concat(c) => specs.extend(rec.concat(folded, c)),
            RecordKind::Core => specs.extend(rec.lookup()),
            _ => {}
        }
    }
    specs
}

/// One record's nodes in the folded graph.
struct Rec<'a> {
    g: &'a Graph,
    /// Sorted, as emitted.
    nodes: &'a [usize],
    output: ValueId,
    users: &'a [Vec<usize>],
}

/// Whether `op` is an element-wise core op: a quantize next to one belongs to a chain that
/// is better one lookup (`DequantizeLinear → f(x) → QuantizeLinear`, a dequantize →
/// quantize pair), which the planner makes of the element-wise group.
fn elementwise(op: &Op) -> bool {
    matches!(
        op,
        Op::Cast { .. }
            | Op::Add
            | Op::Subtract
            | Op::Multiply
            | Op::Divide
            | Op::Fma
            | Op::Round
            | Op::Clip { .. }
            | Op::Requantize { .. }
    )
}

/// The value's node, if a node defines it.
fn producer(g: &Graph, v: ValueId) -> Option<usize> {
    match g.value(v).def {
        ValueDef::Node(n) => Some(n),
        _ => None,
    }
}

impl Rec<'_> {
    /// A spec of the whole record on `inputs`.
    fn spec(&self, op: DataOp, inputs: Vec<ValueId>) -> Option<Typed> {
        self.spec_of(op, self.nodes.to_vec(), inputs, self.output)
    }

    fn spec_of(
        &self,
        op: DataOp,
        nodes: Vec<usize>,
        inputs: Vec<ValueId>,
        output: ValueId,
    ) -> Option<Typed> {
        let unfused = Some(Arc::new(subgraph(self.g, &nodes, &inputs, output).ok()?));
        Some(Typed { spec: DataSpec { op, nodes, unfused }, inputs, output })
    }

    /// A runtime value (not a constant) of an 8-bit dtype.
    fn runtime_8bit(&self, v: ValueId) -> bool {
        self.g.constant(v).is_none() && self.g.ty(v).dtype.is_8bit()
    }

    fn pool(&self, folded: &Folded, p: &PoolRecord) -> Option<Typed> {
        let g = self.g;
        let x = folded.value(p.input)?;
        let in_ty = g.ty(x);
        if !self.runtime_8bit(x) || in_ty.rank() != 4 {
            return None;
        }
        let (op, pad_value, counts, nodes, output) = match &p.form {
            PoolForm::Max => (PoolOp::Max, 0, None, self.nodes.to_vec(), self.output),
            PoolForm::AverageF32 { zp_in, s_in, counts, s_out, zp_out, out_dtype } => {
                let (lo, hi) = out_dtype.int_range()?;
                let op = PoolOp::AverageF32 {
                    zp_in: *zp_in,
                    scale_in: *s_in,
                    scale_out: *s_out,
                    zp_out: *zp_out as f32,
                    lo: lo as f32,
                    hi: hi as f32,
                };
                (op, 0, Some(counts), self.nodes.to_vec(), self.output)
            }
            // The integer window sum (the requantize after it stays a step of its own).
            PoolForm::AverageFixed { sum, .. } => {
                let node = self.nodes.iter().copied().find(|&n| {
                    g.nodes[n].inputs == [x]
                        && matches!(
                            g.nodes[n].op,
                            Op::Pool2d { kind: PoolKind::Sum, .. } | Op::Sum { .. }
                        )
                })?;
                let pad = match sum {
                    SumForm::Window { pad_value } => *pad_value,
                    SumForm::Global => 0,
                };
                (PoolOp::SumI32, pad, None, vec![node], g.nodes[node].output)
            }
        };
        let [n, c, h, w] = p.pool.layout.nchw(&in_ty.shape);
        let geometry = PoolGeometry {
            batch: n,
            in_h: h,
            in_w: w,
            channels: c,
            kernel: p.pool.kernel,
            strides: p.pool.strides,
            padding: p.pool.padding,
            dilation: p.pool.dilation,
        };
        let count_include_pad = match counts {
            Some(counts) => include_pad(&p.pool, [h, w], counts)?,
            None => false,
        };
        let out_ty = g.ty(output);
        let problem = PoolProblem {
            output: out_ty.dtype,
            op,
            count_include_pad,
            pad_value,
            ..PoolProblem::max(geometry, in_ty.dtype)
        };
        let hw = problem.validate().ok()?;
        let [_, oc, oh, ow] = p.pool.layout.nchw(&out_ty.shape);
        if [oc, oh, ow] != [c, hw[0], hw[1]] {
            return None;
        }
        let op = DataOp::Pool { op, pool: p.pool.clone(), count_include_pad, pad_value };
        self.spec_of(op, nodes, vec![x], output)
    }

    fn add(&self, folded: &Folded, a: &AddRecord) -> Option<Typed> {
        let AddForm::Float { ma, mb, c } = a.form else { return None };
        let (x, y) = (folded.value(a.inputs[0])?, folded.value(a.inputs[1])?);
        let (tx, ty, to) = (self.g.ty(x), self.g.ty(y), self.g.ty(self.output));
        let same = tx == ty && tx == to && a.out_dtype == to.dtype;
        if !same || !self.runtime_8bit(x) || !self.runtime_8bit(y) {
            return None;
        }
        let (lo, hi) = a.out_dtype.int_range()?;
        let spec = ElementwiseSpec::QLinearAdd { ma, mb, c, lo: lo as f32, hi: hi as f32 };
        let d = to.dtype;
        ElementwiseProblem { spec: spec.clone(), dtypes: (d, d, d), n: to.shape.iter().product() }
            .validate()
            .ok()?;
        self.spec(DataOp::Elementwise(spec), vec![x, y])
    }

    fn quantize(&self, folded: &Folded, q: &QuantizeRecord) -> Option<Typed> {
        let x = folded.value(q.input)?;
        let p = &q.params;
        let chained = producer(self.g, x).is_some_and(|n| elementwise(&self.g.nodes[n].op));
        if p.scale.len() != 1 || self.g.constant(x).is_some() || chained {
            return None;
        }
        let (lo, hi) = q.out_dtype.int_range()?;
        let spec = ElementwiseSpec::Quantize {
            scale: p.scale[0],
            zero_point: p.zero_point[0] as f32,
            lo: lo as f32,
            hi: hi as f32,
        };
        let dtypes = (self.g.ty(x).dtype, self.g.ty(x).dtype, q.out_dtype);
        let n = self.g.ty(x).shape.iter().product();
        ElementwiseProblem { spec: spec.clone(), dtypes, n }.validate().ok()?;
        self.spec(DataOp::Elementwise(spec), vec![x])
    }

    fn dequantize(&self, folded: &Folded, d: &DequantizeRecord) -> Option<Typed> {
        let x = folded.value(d.input)?;
        let p = &d.params;
        let chained =
            self.users[self.output.index()].iter().any(|&u| elementwise(&self.g.nodes[u].op));
        if p.scale.len() != 1 || !self.runtime_8bit(x) || chained {
            return None;
        }
        let spec = ElementwiseSpec::Dequantize { zero_point: p.zero_point[0], scale: p.scale[0] };
        let dt = self.g.ty(x).dtype;
        let dtypes = (dt, dt, self.g.ty(self.output).dtype);
        let n = self.g.ty(x).shape.iter().product();
        ElementwiseProblem { spec: spec.clone(), dtypes, n }.validate().ok()?;
        self.spec(DataOp::Elementwise(spec), vec![x])
    }

    /// A copy step of the parts, and a lookup step per part that converts its input.
    fn concat(&self, folded: &Folded, c: &ConcatRecord) -> Vec<Typed> {
        let g = self.g;
        let Some(cat) = producer(g, self.output).filter(|n| self.nodes.contains(n)) else {
            return vec![];
        };
        let parts = g.nodes[cat].inputs.clone();
        let mut specs = Vec::new();
        for ((form, &source), &part) in c.parts.iter().zip(&c.inputs).zip(&parts) {
            let Some(x) = folded.value(source) else { continue };
            if *form == ConcatPart::Copy || !self.runtime_8bit(x) {
                continue;
            }
            let nodes = ancestors_within(g, part, self.nodes);
            specs.extend(self.lookup_chain(x, nodes, part));
        }
        let axis = c.axis;
        specs.extend(self.spec_of(DataOp::Concat { axis }, vec![cat], parts, self.output));
        specs
    }

    /// `nodes` (from `x` to `y`) as one lookup step, when they are a function of one byte.
    fn lookup_chain(&self, x: ValueId, nodes: Vec<usize>, y: ValueId) -> Option<Typed> {
        let g = self.g;
        let ops: Vec<ChainOp<'_>> = nodes
            .iter()
            .map(|&n| {
                let node = &g.nodes[n];
                let inputs = node
                    .inputs
                    .iter()
                    .map(|&v| match g.constant(v) {
                        Some(t) => ChainArg::Const(t),
                        None => ChainArg::Value(v.index()),
                    })
                    .collect();
                ChainOp { op: &node.op, inputs, output: node.output.index() }
            })
            .collect();
        let (din, dout) = (g.ty(x).dtype, g.ty(y).dtype);
        let table = byte_table(x.index(), din, &ops, y.index(), dout)?;
        let spec = ElementwiseSpec::Lookup { table: Box::new(table) };
        self.spec_of(DataOp::Elementwise(spec), nodes, vec![x], y)
    }

    /// A core `lookup` of 8-bit data in an 8-bit table (constant).
    fn lookup(&self) -> Option<Typed> {
        let &[n] = self.nodes else { return None };
        let node = &self.g.nodes[n];
        let [x, table] = node.inputs[..] else { return None };
        let ok = node.op == Op::Lookup && self.runtime_8bit(x) && self.g.constant(table).is_some();
        ok.then(|| self.lookup_chain(x, vec![n], node.output)).flatten()
    }
}

/// Whether the counts of an f32 average pool are the frame's: the whole window everywhere
/// (`Some(true)`), or the cells inside the image (`Some(false)`); `None` for other counts.
fn include_pad(pool: &Pool2dAttrs, [h, w]: [usize; 2], counts: &[usize]) -> Option<bool> {
    let [kh, kw] = pool.kernel;
    if counts == [kh * kw] {
        return Some(true);
    }
    let [pt, pl, pb, pr] = pool.padding;
    let (s, d) = (pool.strides, pool.dilation);
    let oh = window_output(h, pt, pb, kh, s[0], d[0])?;
    let ow = window_output(w, pl, pr, kw, s[1], d[1])?;
    let inside = |input: usize, pad: usize, k: usize, s: usize, d: usize, out: usize| {
        (0..out)
            .map(|o| {
                (0..k).filter(|&r| o * s + r * d >= pad && o * s + r * d - pad < input).count()
            })
            .collect::<Vec<_>>()
    };
    let rows = inside(h, pt, kh, s[0], d[0], oh);
    let cols = inside(w, pl, kw, s[1], d[1], ow);
    let frame: Vec<usize> = rows.iter().flat_map(|r| cols.iter().map(move |c| r * c)).collect();
    let given = if counts.len() == 1 { vec![counts[0]; oh * ow] } else { counts.to_vec() };
    (frame == given).then_some(false)
}

/// The nodes of `within` that `v` depends on (its producers, transitively, inside the set),
/// sorted.
fn ancestors_within(g: &Graph, v: ValueId, within: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        if let Some(i) = producer(g, v)
            && within.contains(&i)
            && !out.contains(&i)
        {
            out.push(i);
            stack.extend(g.nodes[i].inputs.iter().copied());
        }
    }
    out.sort_unstable();
    out
}
