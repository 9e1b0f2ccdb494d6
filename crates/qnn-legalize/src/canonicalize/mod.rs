//! Canonicalization: QNN ops → core integer ops, one module per op family.
//!
//! [`Rewriter`] rebuilds a graph node by node: graph inputs keep their names and order, core
//! ops are copied, each QNN op is replaced by its lowering, whose last node keeps the QNN
//! op's output name (so graph outputs keep their names) and whose other values get fresh
//! names `NODE.part`. Constants are copied only when a kept node reads them: weights that a
//! lowering folds disappear.

pub(crate) mod bias;
pub(crate) mod conv;
pub(crate) mod elementwise;
pub(crate) mod pool;
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
    taken: HashSet<String>,
    /// Names of the ops emitted since the last [`Rewriter::take_emitted`].
    emitted: Vec<&'static str>,
}

impl<'g> Rewriter<'g> {
    pub fn new(src: &'g Graph) -> Result<Rewriter<'g>, LegalizeError> {
        let mut rw = Rewriter {
            src,
            b: GraphBuilder::new(src.name.clone()),
            map: vec![None; src.values.len()],
            taken: src.values.iter().map(|v| v.name.clone()).collect(),
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
    pub fn fresh(&mut self, stem: &str) -> String {
        let mut name = stem.to_string();
        let mut i = 1;
        while self.taken.contains(&name) {
            name = format!("{stem}.{i}");
            i += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    /// Emits `op` on `inputs`, output named exactly `name`.
    pub fn node_named(
        &mut self,
        name: &str,
        op: Op,
        inputs: &[ValueId],
    ) -> Result<ValueId, LegalizeError> {
        self.emitted.push(op.name());
        Ok(self.b.node(name, op, inputs)?)
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

    /// Copies a core node unchanged.
    pub fn copy_node(&mut self, node: &Node) -> Result<(), LegalizeError> {
        let inputs = node.inputs.iter().map(|&i| self.value(i)).collect::<Result<Vec<_>, _>>()?;
        let name = self.src.value(node.output).name.clone();
        let out = self.node_named(&name, node.op.clone(), &inputs)?;
        self.bind(node.output, out);
        Ok(())
    }

    /// The op names emitted since the last call.
    pub fn take_emitted(&mut self) -> Vec<&'static str> {
        std::mem::take(&mut self.emitted)
    }

    pub fn finish(mut self) -> Result<Graph, LegalizeError> {
        for &o in &self.src.outputs {
            let v = self.value(o)?;
            self.b.output(v);
        }
        Ok(self.b.finish()?)
    }
}
