//! The importer: ONNX nodes in topological order → qnn-ir nodes.
//!
//! Values are resolved lazily: an initializer stays a [`Constant`] until some op needs it as a
//! graph value, and the output of a `DequantizeLinear` stays a note of its integer source and
//! parameters until a float op reads it — so a QDQ group that folds into one QNN op never
//! materializes its dequantized tensors. [`qdq::decide`] decides those groups first, the way
//! ONNX Runtime's default graph optimization does, so the imported graph computes what ORT's
//! optimized session computes.

mod context;
mod contrib;
mod conv_transpose;
mod dispatch;
mod float_global_pool;
mod float_ops;
mod folding;
mod hard_activation;
mod linear;
mod lookup;
mod node;
mod pad_modes;
mod qdq;
mod qlinear_softmax;
mod quantize;
mod resize;
mod slicing;
pub(crate) mod summary;
mod window;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use qnn_ir::limits::Limits;
use qnn_ir::{Graph, GraphBuilder, TensorType};

use crate::constant::Constant;
use crate::error::OnnxError;
use crate::model::{Dim, IoInfo, Model};
use crate::onnx_type::OnnxType;

use context::{Importer, QdqDecisions, Slot};
pub(crate) use node::label;

pub use node::Form;
pub use summary::NodeSummary;

/// Options of [`Model::import`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Graph inputs fixed to these values: they become constants and leave the graph's inputs.
    /// Quantization parameters and shapes must be constants, so a model that takes them as
    /// inputs (ONNX's backend node tests do) is imported with them bound; see
    /// [`Model::static_inputs`].
    pub bindings: BTreeMap<String, Constant>,
    /// Shapes of graph inputs declared with symbolic or unknown dimensions.
    pub input_shapes: BTreeMap<String, Vec<usize>>,
    /// Memory limits: an initializer, a constant, a declared input or any value of the
    /// imported graph beyond them is refused before it is decoded or allocated. Default: the
    /// process-wide [`Limits::default`].
    pub limits: Limits,
}

/// An imported model.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The graph in the QNN dialect (NCHW activations, OIHW weights, as ONNX has them).
    pub graph: Graph,
    /// The graph's inputs, in order, with their ONNX element types and concrete shapes.
    pub inputs: Vec<IoInfo>,
    /// The graph's outputs, in order.
    pub outputs: Vec<IoInfo>,
    /// One entry per ONNX node that produced qnn nodes (or was folded into one), in order.
    pub nodes: Vec<NodeSummary>,
}

impl Model {
    /// Graph inputs the importer needs as constants (scales, zero points, shapes, …): bind them
    /// in [`ImportOptions::bindings`].
    pub fn static_inputs(&self) -> Vec<String> {
        let inputs: HashSet<&str> = self
            .graph
            .input
            .iter()
            .filter(|i| !self.initializers.contains_key(&i.name))
            .map(|i| i.name.as_str())
            .collect();
        let mut out = Vec::new();
        for n in &self.graph.node {
            for i in dispatch::constant_inputs(n) {
                if let Some(name) = n.input.get(i)
                    && inputs.contains(name.as_str())
                    && !out.contains(name)
                {
                    out.push(name.clone());
                }
            }
        }
        out
    }

    /// Imports the model into a qnn-ir graph.
    pub fn import(&self, opts: &ImportOptions) -> Result<Imported, OnnxError> {
        let mut im = Importer {
            m: self,
            b: GraphBuilder::with_limits(
                if self.graph.name.is_empty() { "onnx" } else { &self.graph.name },
                opts.limits,
            ),
            slots: HashMap::new(),
            dq: HashMap::new(),
            consts: HashMap::new(),
            qdq: QdqDecisions::default(),
            consumers: HashMap::new(),
            producers: HashMap::new(),
            graph_outputs: self.graph.output.iter().map(|o| o.name.clone()).collect(),
            created: HashMap::new(),
            current: 0,
        };
        for (name, &i) in &self.initializers {
            let c = Constant::from_proto_within(&self.graph.initializer[i], &opts.limits)?;
            im.slots.insert(name.clone(), Slot::Const(Rc::new(c)));
        }
        let inputs = im.graph_inputs(opts)?;
        let order = im.topological_order()?;
        im.qdq = qdq::decide(&im, &order)?;
        let mut forms = Vec::new();
        for &i in &order {
            im.current = i;
            if let Some(form) = im.import_node(i, &self.graph.node[i])? {
                forms.push((i, form));
            }
        }
        let outputs = im.graph_outputs_info()?;
        let nodes = forms.into_iter().map(|(i, form)| summary::summarize(&im, i, form)).collect();
        let graph = im.b.finish().map_err(|e| OnnxError::model(format!("imported graph: {e}")))?;
        Ok(Imported { graph, inputs, outputs, nodes })
    }
}

impl<'m> Importer<'m> {
    /// Declares the graph inputs (bound ones become constants).
    fn graph_inputs(&mut self, opts: &ImportOptions) -> Result<Vec<IoInfo>, OnnxError> {
        for name in opts.bindings.keys() {
            if !self.m.graph.input.iter().any(|i| &i.name == name) {
                return Err(OnnxError::GraphIo {
                    kind: "input",
                    name: name.clone(),
                    msg: "is bound but the graph has no such input".into(),
                });
            }
        }
        let mut infos = Vec::new();
        for info in self.m.inputs()? {
            if let Some(c) = opts.bindings.get(&info.name) {
                self.slots.insert(info.name.clone(), Slot::Const(Rc::new(c.clone())));
                continue;
            }
            let err =
                |msg: String| OnnxError::GraphIo { kind: "input", name: info.name.clone(), msg };
            let dtype = info.elem_type.dtype().ok_or_else(|| {
                err(format!(
                    "element type {} is not supported (u8, i8, i16, i32, f32)",
                    info.elem_type
                ))
            })?;
            let shape = match (opts.input_shapes.get(&info.name), &info.dims) {
                (Some(s), Some(dims)) => {
                    let fits = s.len() == dims.len()
                        && s.iter().zip(dims).all(|(&v, d)| !matches!(d, Dim::Fixed(f) if *f != v));
                    if !fits {
                        return Err(err(format!(
                            "the given shape {s:?} does not match the declared [{}]",
                            dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",")
                        )));
                    }
                    s.clone()
                }
                (Some(s), None) => s.clone(),
                (None, _) => info.fixed_shape().ok_or_else(|| {
                    err(format!(
                        "has no fixed shape ({info}); give its shape in the import options"
                    ))
                })?,
            };
            let ty = TensorType::new(dtype, shape.clone());
            self.b.limits().check_type("declared shape", &ty).map_err(|e| err(e.to_string()))?;
            let id = self.b.input(info.name.clone(), ty).map_err(|e| err(e.to_string()))?;
            self.slots.insert(info.name.clone(), Slot::Value(id));
            infos.push(IoInfo {
                name: info.name.clone(),
                elem_type: info.elem_type,
                dims: Some(shape.into_iter().map(Dim::Fixed).collect()),
            });
        }
        Ok(infos)
    }

    /// Node indices in an order where every input is defined first (ONNX requires the file's
    /// order to be one; a model that is not sorted is sorted here). Inputs nothing defines
    /// and cycles are errors.
    fn topological_order(&mut self) -> Result<Vec<usize>, OnnxError> {
        let nodes = &self.m.graph.node;
        for (i, n) in nodes.iter().enumerate() {
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                self.producers.insert(o.clone(), i);
            }
            for inp in n.input.iter().filter(|s| !s.is_empty()) {
                // Nodes come in index order: a repeat of `i` can only be the last user (a
                // search of the whole list made shared initializers quadratic). The name is
                // copied only for its first user.
                match self.consumers.get_mut(inp) {
                    Some(users) if users.last() == Some(&i) => {}
                    Some(users) => users.push(i),
                    None => _ = self.consumers.insert(inp.clone(), vec![i]),
                }
            }
        }
        let mut pending: Vec<usize> = vec![0; nodes.len()];
        let mut ready = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            for inp in n.input.iter().filter(|s| !s.is_empty()) {
                if self.producers.contains_key(inp) {
                    pending[i] += 1;
                } else if !self.slots.contains_key(inp) {
                    return Err(OnnxError::model(format!(
                        "node {} ({}) reads `{inp}`, which no node, initializer or graph input defines",
                        label(n, i),
                        n.op_type
                    )));
                }
            }
            if pending[i] == 0 {
                ready.push(i);
            }
        }
        // Kahn's algorithm, taking the lowest index first so a sorted file keeps its order.
        let mut order = Vec::with_capacity(nodes.len());
        let mut ready: std::collections::BTreeSet<usize> = ready.into_iter().collect();
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for o in nodes[i].output.iter().filter(|o| !o.is_empty()) {
                for &c in self.consumers.get(o).map(Vec::as_slice).unwrap_or(&[]) {
                    let count = nodes[c].input.iter().filter(|s| *s == o).count();
                    pending[c] -= count;
                    if pending[c] == 0 {
                        ready.insert(c);
                    }
                }
            }
        }
        if order.len() != nodes.len() {
            let stuck = (0..nodes.len()).find(|i| !order.contains(i)).unwrap_or(0);
            return Err(OnnxError::model(format!(
                "the graph has a cycle through node {} ({})",
                label(&nodes[stuck], stuck),
                nodes[stuck].op_type
            )));
        }
        Ok(order)
    }

    /// Marks the graph outputs and describes them.
    fn graph_outputs_info(&mut self) -> Result<Vec<IoInfo>, OnnxError> {
        let mut infos = Vec::new();
        for o in self.m.outputs()? {
            let id = self.value_of(&o.name).map_err(|e| OnnxError::GraphIo {
                kind: "output",
                name: o.name.clone(),
                msg: e.to_string(),
            })?;
            let ty = self.b.graph().ty(id).clone();
            let mut elem = OnnxType::of(ty.dtype);
            if o.elem_type.0 != 0 {
                if o.elem_type.dtype() != Some(ty.dtype) {
                    return Err(OnnxError::GraphIo {
                        kind: "output",
                        name: o.name.clone(),
                        msg: format!("declared {} but computes {elem}", o.elem_type),
                    });
                }
                // UINT16 outputs are carried as i32: report the declared type.
                elem = o.elem_type;
            }
            self.b.output(id);
            infos.push(IoInfo {
                name: o.name.clone(),
                elem_type: elem,
                dims: Some(ty.shape.into_iter().map(Dim::Fixed).collect()),
            });
        }
        Ok(infos)
    }
}
