//! Canonicalization: QNN ops → core integer ops, one module per op family.
//!
//! `Rewriter` rebuilds a graph node by node: graph inputs keep their names and order, core
//! ops are copied, each QNN op is replaced by its lowering, whose last node keeps the QNN
//! op's output name (so graph outputs keep their names) and whose other values get fresh
//! names `NODE.part`. Constants are copied only when a kept node reads them: weights that a
//! lowering folds disappear. The Rewriter also counts the nodes each lowering emits, for its
//! [`Record`](crate::record::Record).
//!
//! Each lowering returns the value standing for the QNN op's output and the typed
//! [`RecordKind`](crate::record::RecordKind) of what it decided.

pub(crate) mod bias;
pub(crate) mod clip;
pub(crate) mod conv;
pub(crate) mod conv_transpose;
pub(crate) mod dynamic;
pub(crate) mod elementwise;
pub(crate) mod pool;
pub(crate) mod quantize;
pub(crate) mod requantize;

use std::collections::HashSet;
use std::sync::Arc;

use qnn_ir::{DType, Graph, GraphBuilder, Node, Op, Tensor, ValueDef, ValueId};

use crate::error::LegalizeError;

/// Builds the lowered graph from a source graph.
#[derive(Debug)]
pub(crate) struct Rewriter<'g> {
    src: &'g Graph,
    b: GraphBuilder,
    map: Vec<Option<ValueId>>,
    /// The source graph's value names, which fresh names avoid (the builder indexes the
    /// names emitted so far).
    src_names: HashSet<&'g str>,
    /// Indices of the nodes emitted since the last [`Rewriter::take_emitted`].
    emitted: Vec<usize>,
}

impl<'g> Rewriter<'g> {
    pub fn new(src: &'g Graph) -> Result<Rewriter<'g>, LegalizeError> {
        let mut rw = Rewriter {
            src,
            b: GraphBuilder::new(src.name.clone()),
            map: vec![None; src.values.len()],
            src_names: src.values.iter().map(|v| v.name.as_str()).collect(),
            emitted: Vec::new(),
        };
        for &i in &src.inputs {
            let v = src.value(i);
            let id = rw.b.input(v.name.clone(), v.ty.clone())?;
            rw.map[i.index()] = Some(id);
        }
        Ok(rw)
    }

    pub fn src(&self) -> &'g Graph {
        self.src
    }

    /// The new value of source value `id` (copying a constant on first use).
    pub fn value(&mut self, id: ValueId) -> Result<ValueId, LegalizeError> {
        if let Some(v) = self.map[id.index()] {
            return Ok(v);
        }
        let v = self.src.value(id);
        match &v.def {
            ValueDef::Const(t) => {
                let new = self.b.constant(v.name.clone(), t.clone())?;
                self.map[id.index()] = Some(new);
                Ok(new)
            }
            _ => Err(LegalizeError::Ir(qnn_ir::IrError::Undefined {
                node: "legalize".into(),
                value: format!("`{}`", v.name),
            })),
        }
    }

    /// Makes `new` the value of source value `src`.
    pub fn bind(&mut self, src: ValueId, new: ValueId) {
        self.map[src.index()] = Some(new);
    }

    /// A name not used by the source graph nor emitted yet: `stem`, else `stem.1`, ….
    pub fn fresh(&self, stem: &str) -> String {
        let mut name = stem.to_string();
        let mut i = 1;
        while self.src_names.contains(name.as_str()) || self.b.find(&name).is_some() {
            name = format!("{stem}.{i}");
            i += 1;
        }
        name
    }

    /// Emits `op` on `inputs`, output named exactly `name`.
    pub fn node_named(
        &mut self,
        name: &str,
        op: Op,
        inputs: &[ValueId],
    ) -> Result<ValueId, LegalizeError> {
        let v = self.b.node(name, op, inputs)?;
        self.emitted.push(self.b.graph().nodes.len() - 1);
        Ok(v)
    }

    /// Emits `op` with a fresh name from `stem`, or named `last` when given (the lowering's
    /// final node).
    pub fn node(
        &mut self,
        stem: &str,
        last: Option<&str>,
        op: Op,
        inputs: &[ValueId],
    ) -> Result<ValueId, LegalizeError> {
        let name = match last {
            Some(n) => n.to_string(),
            None => self.fresh(stem),
        };
        self.node_named(&name, op, inputs)
    }

    /// Adds a constant with a fresh name from `stem`.
    pub fn constant(
        &mut self,
        stem: &str,
        t: impl Into<Arc<Tensor>>,
    ) -> Result<ValueId, LegalizeError> {
        let name = self.fresh(stem);
        Ok(self.b.constant(name, t)?)
    }

    /// A constant of `dtype` and `shape` holding `values` (proven to fit by the caller).
    pub fn int_constant(
        &mut self,
        stem: &str,
        dtype: DType,
        shape: &[usize],
        values: Vec<i64>,
    ) -> Result<ValueId, LegalizeError> {
        let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), values)
            .expect("constant shape matches its values");
        let t = Tensor::from_i64(stem, dtype, a)?;
        self.constant(stem, t)
    }

    /// A rank-0 constant.
    pub fn scalar(&mut self, stem: &str, dtype: DType, v: i64) -> Result<ValueId, LegalizeError> {
        self.int_constant(stem, dtype, &[], vec![v])
    }

    /// A rank-0 or shaped `f32` constant.
    pub fn f32_constant(
        &mut self,
        stem: &str,
        shape: &[usize],
        values: Vec<f32>,
    ) -> Result<ValueId, LegalizeError> {
        let t = Tensor::from_vec(shape, values)?;
        self.constant(stem, t)
    }

    /// Copies a core node unchanged; returns its new output.
    pub fn copy_node(&mut self, node: &Node) -> Result<ValueId, LegalizeError> {
        let inputs = node.inputs.iter().map(|&i| self.value(i)).collect::<Result<Vec<_>, _>>()?;
        let name = self.src.value(node.output).name.clone();
        let out = self.node_named(&name, node.op.clone(), &inputs)?;
        self.bind(node.output, out);
        Ok(out)
    }

    /// The nodes emitted since the last call (indices into the lowered graph).
    pub fn take_emitted(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.emitted)
    }

    /// A mark in the emitted nodes, for [`Rewriter::since`].
    pub fn mark(&self) -> usize {
        self.emitted.len()
    }

    /// The nodes emitted since `mark`.
    pub fn since(&self, mark: usize) -> Vec<usize> {
        self.emitted[mark..].to_vec()
    }

    /// The op names of lowered `nodes`, for the explanation.
    pub fn op_names(&self, nodes: &[usize]) -> Vec<String> {
        nodes.iter().map(|&i| self.b.graph().nodes[i].op.name().to_string()).collect()
    }

    /// The node of the lowered graph that defines `v` (a value a lowering just emitted).
    pub fn producer(&self, v: ValueId) -> usize {
        match self.b.graph().value(v).def {
            ValueDef::Node(i) => i,
            _ => unreachable!("value #{} was emitted by a node", v.0),
        }
    }

    pub fn finish(mut self) -> Result<Graph, LegalizeError> {
        for &o in &self.src.outputs {
            let v = self.value(o)?;
            self.b.output(v);
        }
        Ok(self.b.finish()?)
    }
}

/// The error for a form of `node` that has no exact lowering.
pub(crate) fn unsupported(node: &Node, what: impl Into<String>) -> LegalizeError {
    LegalizeError::Unsupported {
        op: node.op.name().into(),
        node: node.name.clone(),
        what: what.into(),
    }
}

/// Shape of a per-axis constant for a tensor of rank `rank`: `[n, 1, …, 1]` with the ones
/// after `axis`.
pub(crate) fn axis_shape(rank: usize, axis: usize, n: usize) -> Vec<usize> {
    let mut s = vec![n];
    s.extend(std::iter::repeat_n(1, rank - 1 - axis));
    s
}
