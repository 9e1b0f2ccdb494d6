//! The conv/dense chains to fuse, read off the legalizer's records: the conv record (its
//! prologue, core op, constant and T3 nodes, with every folded value), then the requantize
//! record and the clip record that alone read its result (or core `requantize` and `clip`
//! ops passed through legalization, whose ops carry the same parameters). Ids are translated into the
//! folded graph; a chain that folding changed (its data was constant, its result unused) is
//! not fused.

use std::sync::Arc;

use qnn_ir::backend::ConvGeometry;
use qnn_ir::{DType, Op, Tensor, ValueId};
use qnn_legalize::analysis::{ConvForm, ohwi_weights};
use qnn_legalize::record::{ClipRecord, RequantizeParams, RequantizeRecord};
use qnn_legalize::{ConvRecord, ConvWeights, Lowering, Record, RecordKind};

use crate::optimize::fold::Folded;

/// A conv/dense chain of the folded graph: what the fused op computes and which nodes it
/// replaces.
#[derive(Debug, Clone)]
pub(crate) struct ConvChain {
    pub form: ConvForm,
    pub geometry: ConvGeometry,
    pub lowering: Lowering,
    /// The legalizer's backend, tried first.
    pub backend: Option<&'static str>,
    /// The value the prologue reads, and what it adds: the core op's operand is
    /// `input + input_offset` (the operand itself when there is no prologue).
    pub input: ValueId,
    pub input_offset: i32,
    pub prologue: Vec<usize>,
    pub operand: ValueId,
    /// Dtypes (operand, weights) of the core op.
    pub operands: (DType, DType),
    /// Value of padded cells in the operand's domain.
    pub pad_value: i32,
    /// OHWI (dense: `[N, K]`) at the weight dtype, shared with the legalizer's record.
    pub weights: Arc<Tensor>,
    pub channel_constant: Option<Vec<i32>>,
    pub t3_zero_points: Option<Vec<i32>>,
    /// The core conv/dense node.
    pub core: usize,
    /// The core node, the constant add and the T3 nodes.
    pub body: Vec<usize>,
    /// The value the body computes.
    pub body_output: ValueId,
    /// A requantize of the body's output, and its node.
    pub requantize: Option<(RequantizeParams, usize)>,
    /// A clip of the requantize's output (bounds), and its node.
    pub clip: Option<((f64, f64), usize)>,
}

/// The chains of `records` in `folded`, one per conv record that survived folding with
/// constant weights.
pub(crate) fn from_records(folded: &Folded, records: &[Record]) -> Vec<ConvChain> {
    let g = &folded.graph;
    let users = g.users();
    // The record each folded node came from.
    let mut owner: Vec<Option<usize>> = vec![None; g.nodes.len()];
    for (k, r) in records.iter().enumerate() {
        for &n in &r.nodes {
            if let Some(m) = folded.node(n) {
                owner[m] = Some(k);
            }
        }
    }
    // The record of the one node that reads `v` (`v` not a graph output).
    let sole_reader = |v: ValueId| -> Option<(usize, &Record)> {
        match users[v.index()][..] {
            [u] if !g.outputs.contains(&v) => owner[u].map(|k| (u, &records[k])),
            _ => None,
        }
    };
    let mut chains = Vec::new();
    for r in records {
        let RecordKind::Conv(c) = &r.kind else { continue };
        let Some(mut chain) = conv_chain(folded, r, c) else { continue };
        chain.requantize = sole_reader(chain.body_output)
            .and_then(|(u, next)| requantize_of(folded, next, u, chain.body_output));
        if let Some((_, u)) = chain.requantize {
            let rq_out = g.nodes[u].output;
            chain.clip = sole_reader(rq_out).and_then(|(v, next)| clip_of(folded, next, v, rq_out));
        }
        chains.push(chain);
    }
    chains
}

/// The requantize `record` (the owner of node `u`, the one reader of `v`) applies to `v` in
/// one node, with that node. A core `requantize` passed through legalization counts: its op
/// carries the same typed parameters.
fn requantize_of(
    folded: &Folded,
    record: &Record,
    u: usize,
    v: ValueId,
) -> Option<(RequantizeParams, usize)> {
    match &record.kind {
        RecordKind::Requantize(q) => {
            let node = single_requantize(folded, q, v)?;
            (node == u).then(|| (q.params.clone(), u))
        }
        RecordKind::Core => match &folded.graph.nodes[u].op {
            Op::Requantize { scale, axes, input_zero_point, output_zero_point, out_dtype } => {
                let params = RequantizeParams {
                    scale: scale.clone(),
                    axes: axes.clone(),
                    input_zero_point: *input_zero_point,
                    output_zero_point: *output_zero_point,
                    out_dtype: *out_dtype,
                };
                Some((params, u))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The clip bounds `record` (the owner of node `u`, the one reader of `v`) applies to `v`,
/// with its node; a core `clip` passed through legalization counts.
fn clip_of(folded: &Folded, record: &Record, u: usize, v: ValueId) -> Option<((f64, f64), usize)> {
    match &record.kind {
        RecordKind::Clip(ClipRecord { input, min, max }) => {
            (folded.value(*input) == Some(v)).then_some(((*min as f64, *max as f64), u))
        }
        RecordKind::Core => match folded.graph.nodes[u].op {
            Op::Clip { min, max } => Some(((min, max), u)),
            _ => None,
        },
        _ => None,
    }
}

/// The chain of conv record `c` (of source record `r`) in the folded graph.
fn conv_chain(folded: &Folded, r: &Record, c: &ConvRecord) -> Option<ConvChain> {
    let g = &folded.graph;
    let nodes = r.nodes.iter().map(|&n| folded.node(n)).collect::<Option<Vec<_>>>()?;
    let prologue = c.prologue.iter().map(|&n| folded.node(n)).collect::<Option<Vec<_>>>()?;
    let weights = match &c.weights {
        ConvWeights::Folded(w) => w.clone(),
        // Weights computed from constants only: folding made them a constant.
        ConvWeights::RunTime(v) => ohwi(g.constant(folded.value(*v)?)?, &c.form).ok()?,
    };
    Some(ConvChain {
        form: c.form.clone(),
        geometry: c.geometry.clone(),
        lowering: c.lowering,
        backend: c.backend,
        input: folded.value(c.input)?,
        input_offset: c.input_offset,
        body: nodes.iter().copied().filter(|n| !prologue.contains(n)).collect(),
        prologue,
        operand: folded.value(c.operand)?,
        operands: c.operands,
        pad_value: c.pad_value,
        weights,
        channel_constant: c.channel_constant.clone(),
        t3_zero_points: c.t3_zero_points.clone(),
        core: folded.node(c.core)?,
        body_output: folded.value(r.output)?,
        requantize: None,
        clip: None,
    })
}

/// The node of requantize record `q` when it is that one node, on `v`.
fn single_requantize(folded: &Folded, q: &RequantizeRecord, v: ValueId) -> Option<usize> {
    (q.single && folded.value(q.input) == Some(v)).then(|| folded.node(q.node)).flatten()
}

/// A constant conv/dense weight tensor in OHWI order (dense: as it is, `[N, K]`) at its
/// element type (the tensor itself where its layout is that order already; no `i32` or
/// `i64` copy of a large weight).
pub(crate) fn ohwi(t: &Arc<Tensor>, form: &ConvForm) -> Result<Arc<Tensor>, String> {
    if t.dtype() == DType::F32 {
        return Err("the weights are not integers".into());
    }
    // Constants are in standard layout; a view that is not gets one copy at its type.
    let standard;
    let t = if t.int_slice().is_some() {
        t
    } else {
        standard = Arc::new(
            qnn_ir::with_array!(&**t, a => qnn_ir::Element::wrap(a.as_standard_layout().into_owned())),
        );
        &standard
    };
    ohwi_weights(form, t)
        .ok_or_else(|| format!("weights of shape {:?} are not a kernel", t.shape()))
}
