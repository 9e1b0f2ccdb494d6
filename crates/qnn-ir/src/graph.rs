//! The graph: typed values, nodes in topological order, constants, inputs and outputs.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::IrError;
use crate::infer::infer_type;
use crate::limits::Limits;
use crate::ops::Op;
use crate::tensor::{Tensor, TensorType};

/// Index of a value in its graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

impl ValueId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueDef {
    /// A graph input, supplied at run time.
    Input,
    /// A constant (weights, biases, folded terms). Shared so that graphs clone cheaply.
    Const(Arc<Tensor>),
    /// The output of node `nodes[i]`.
    Node(usize),
}

/// A typed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub name: String,
    pub ty: TensorType,
    pub def: ValueDef,
}

/// An operator applied to values, defining one output value.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub op: Op,
    pub inputs: Vec<ValueId>,
    pub output: ValueId,
}

impl Node {
    /// `op.name() "node name"`: how errors name a node.
    pub fn describe(&self) -> String {
        format!("{} `{}`", self.op.name(), self.name)
    }
}

/// A dataflow graph. Nodes are kept in a topological order (every input is defined before
/// the node that reads it); [`Graph::verify`](crate::verify) checks it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    pub name: String,
    pub values: Vec<Value>,
    pub nodes: Vec<Node>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
}

impl Graph {
    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.index()]
    }

    pub fn ty(&self, id: ValueId) -> &TensorType {
        &self.values[id.index()].ty
    }

    /// The constant tensor of a value, if it is one.
    pub fn constant(&self, id: ValueId) -> Option<&Arc<Tensor>> {
        match &self.values.get(id.index())?.def {
            ValueDef::Const(t) => Some(t),
            _ => None,
        }
    }

    /// The node defining a value, if any.
    pub fn producer(&self, id: ValueId) -> Option<&Node> {
        match self.values.get(id.index())?.def {
            ValueDef::Node(i) => self.nodes.get(i),
            _ => None,
        }
    }

    /// Value id by name: a linear scan (a [`GraphBuilder`] indexes its names; a pass that
    /// looks up many names builds a map once).
    pub fn find(&self, name: &str) -> Option<ValueId> {
        self.values.iter().position(|v| v.name == name).map(|i| ValueId(i as u32))
    }

    /// For each value, the indices of the nodes that read it.
    pub fn users(&self) -> Vec<Vec<usize>> {
        let mut users = vec![Vec::new(); self.values.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for v in &n.inputs {
                // Nodes come in order: a repeat of `i` can only be the last user (searching
                // the whole list made a value read by every node quadratic).
                if let Some(u) = users.get_mut(v.index())
                    && u.last() != Some(&i)
                {
                    u.push(i);
                }
            }
        }
        users
    }
}

/// Builds a graph node by node, inferring each output type as it goes. Every value's type is
/// checked against the builder's [`Limits`] as it is added (a node whose inferred output
/// would be too large is refused before anything computes it).
#[derive(Debug)]
pub struct GraphBuilder {
    graph: Graph,
    names: HashMap<String, ValueId>,
    limits: Limits,
    /// Bytes of the values added so far.
    bytes: u64,
}

impl GraphBuilder {
    /// A builder with the process-wide default limits ([`Limits::default`]).
    pub fn new(name: impl Into<String>) -> Self {
        GraphBuilder::with_limits(name, Limits::default())
    }

    /// A builder that refuses values beyond `limits`.
    pub fn with_limits(name: impl Into<String>, limits: Limits) -> Self {
        GraphBuilder {
            graph: Graph { name: name.into(), ..Graph::default() },
            names: HashMap::new(),
            limits,
            bytes: 0,
        }
    }

    /// The limits this builder checks.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn add_value(
        &mut self,
        name: String,
        ty: TensorType,
        def: ValueDef,
    ) -> Result<ValueId, IrError> {
        if self.names.contains_key(&name) {
            return Err(IrError::Redefined { name });
        }
        let bytes = self.limits.check_type_of(|| format!("value `{name}`"), &ty)?;
        let total = self.bytes.saturating_add(bytes);
        if total > self.limits.max_graph_bytes {
            return Err(IrError::LimitExceeded {
                what: format!("the values of graph `{}` with `{name}`", self.graph.name),
                bytes: Some(total),
                limit: self.limits.max_graph_bytes,
            });
        }
        self.bytes = total;
        let id = ValueId(self.graph.values.len() as u32);
        self.names.insert(name.clone(), id);
        self.graph.values.push(Value { name, ty, def });
        Ok(id)
    }

    /// The value named `name` so far, from the builder's name index (constant time, where
    /// [`Graph::find`] scans every value).
    pub fn find(&self, name: &str) -> Option<ValueId> {
        self.names.get(name).copied()
    }

    /// `stem` itself when no value has that name yet, else the first free `stem#1`,
    /// `stem#2`, … (the importers name a value after its source node this way).
    pub fn unique_name(&self, stem: &str) -> String {
        if self.find(stem).is_none() {
            return stem.to_string();
        }
        (1..).map(|k| format!("{stem}#{k}")).find(|s| self.find(s).is_none()).unwrap_or_default()
    }

    /// A fresh value name (`%0`, `%1`, …) not used yet.
    pub fn fresh_name(&self, stem: &str) -> String {
        let mut i = self.graph.values.len();
        loop {
            let n = format!("{stem}{i}");
            if !self.names.contains_key(&n) {
                return n;
            }
            i += 1;
        }
    }

    /// Declares a graph input.
    pub fn input(&mut self, name: impl Into<String>, ty: TensorType) -> Result<ValueId, IrError> {
        let id = self.add_value(name.into(), ty, ValueDef::Input)?;
        self.graph.inputs.push(id);
        Ok(id)
    }

    /// Adds a constant.
    pub fn constant(
        &mut self,
        name: impl Into<String>,
        t: impl Into<Arc<Tensor>>,
    ) -> Result<ValueId, IrError> {
        let t = t.into();
        let ty = t.ty();
        self.add_value(name.into(), ty, ValueDef::Const(t))
    }

    /// Applies `op` to `inputs`; the output is named `name` and typed by inference.
    pub fn node(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: &[ValueId],
    ) -> Result<ValueId, IrError> {
        let name = name.into();
        let mut tys = Vec::with_capacity(inputs.len());
        for &v in inputs {
            let value = self.graph.values.get(v.index()).ok_or_else(|| IrError::Undefined {
                node: name.clone(),
                value: format!("#{}", v.0),
            })?;
            tys.push(&value.ty);
        }
        let ty = infer_type(&op, &tys).map_err(|e| e.in_node(&name))?;
        let id = self.add_value(name.clone(), ty, ValueDef::Node(self.graph.nodes.len()))?;
        self.graph.nodes.push(Node { name, op, inputs: inputs.to_vec(), output: id });
        Ok(id)
    }

    /// Marks a value as a graph output.
    pub fn output(&mut self, v: ValueId) {
        self.graph.outputs.push(v);
    }

    /// The graph so far (e.g. to look up types while building).
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Finishes the graph. What [`Graph::verify_with`] checks holds by construction — every
    /// value was checked against the builder's limits as it was added, names are unique,
    /// every node reads only values added before it and has the type inference gives — so
    /// only the outputs are checked here (verifying every built graph again was a tenth of
    /// compiling a deep model).
    pub fn finish(self) -> Result<Graph, IrError> {
        let n_values = self.graph.values.len();
        if let Some(o) = self.graph.outputs.iter().find(|o| o.index() >= n_values) {
            return Err(IrError::Undefined {
                node: "graph outputs".into(),
                value: format!("#{}", o.0),
            });
        }
        debug_assert_eq!(self.graph.verify_with(&self.limits), Ok(()));
        Ok(self.graph)
    }
}
