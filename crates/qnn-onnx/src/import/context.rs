//! The importer's state and toolbox: resolving ONNX names to values and constants (lazily,
//! see [`Importer::value_of`]), reading quantization parameters, emitting qnn nodes.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use qnn_ir::{DType, GraphBuilder, Op, QuantParams, Tensor, TensorType, ValueId};

use super::node::Node;
use crate::constant::Constant;
use crate::error::OnnxError;
use crate::model::Model;
use crate::onnx_type::OnnxType;

/// What an ONNX value name stands for.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    Value(ValueId),
    Const(Rc<Constant>),
}

/// The integer source of a `DequantizeLinear` output, for the QDQ groups that read it.
#[derive(Debug, Clone)]
pub(crate) struct Dq {
    /// The ONNX name of the integer tensor.
    pub source: String,
    pub q: QuantParams,
    pub dtype: DType,
    /// Index of the `DequantizeLinear` node.
    pub node: usize,
}

/// The importer's state.
pub(crate) struct Importer<'m> {
    pub m: &'m Model,
    pub b: GraphBuilder,
    pub slots: HashMap<String, Slot>,
    /// `DequantizeLinear` outputs not materialized yet (see [`Importer::value_of`]).
    pub dq: HashMap<String, Rc<Dq>>,
    /// Constants that were also materialized as graph values (still readable as constants).
    pub consts: HashMap<String, Rc<Constant>>,
    /// What the QDQ planner decided before anything was imported.
    pub qdq: QdqDecisions,
    pub consumers: HashMap<String, Vec<usize>>,
    pub producers: HashMap<String, usize>,
    pub graph_outputs: HashSet<String>,
    /// qnn nodes created for each ONNX node (by node index).
    pub created: HashMap<usize, Vec<String>>,
    /// The ONNX node being imported.
    pub current: usize,
}

/// Decisions of the QDQ planner.
#[derive(Debug, Default, Clone)]
pub(crate) struct QdqDecisions {
    /// Nodes whose output stands for their first input: `Relu`/`Clip` nodes the following
    /// `QuantizeLinear` makes redundant, and the inner `DequantizeLinear → QuantizeLinear` of
    /// a double Q/DQ pair.
    pub removed: HashSet<usize>,
    /// New (scale, zero point) of the outer nodes of a double Q/DQ pair.
    pub params: std::collections::HashMap<usize, (f32, i32)>,
    /// `QuantizeLinear` nodes folded into the group of the op before them.
    pub absorbed: HashSet<usize>,
    /// For each group's op: the other ONNX nodes it folded (for the summary).
    pub fused: std::collections::HashMap<usize, Vec<usize>>,
}

impl Importer<'_> {
    /// A unique qnn value name from `stem`.
    pub fn unique(&self, stem: &str) -> String {
        self.b.unique_name(stem)
    }

    /// Adds `op` on `inputs` as a node whose output is named after `name`.
    pub fn emit(
        &mut self,
        n: &Node<'_>,
        name: &str,
        op: Op,
        inputs: &[ValueId],
    ) -> Result<ValueId, OnnxError> {
        let name = self.unique(name);
        let id = self.b.node(name.clone(), op, inputs).map_err(|e| n.ir(e))?;
        self.created.entry(self.current).or_default().push(name);
        Ok(id)
    }

    /// Adds a constant tensor named after `name`.
    pub fn emit_const(
        &mut self,
        n: &Node<'_>,
        name: &str,
        t: Tensor,
    ) -> Result<ValueId, OnnxError> {
        let name = self.unique(name);
        self.b.constant(name, t).map_err(|e| n.ir(e))
    }

    pub fn ty(&self, v: ValueId) -> TensorType {
        self.b.graph().ty(v).clone()
    }

    pub fn bind(&mut self, name: &str, v: ValueId) {
        self.slots.insert(name.to_string(), Slot::Value(v));
    }

    /// Binds a constant computed at import time, within the import's limits.
    pub fn bind_const(&mut self, name: &str, c: Constant) -> Result<(), OnnxError> {
        c.check_within(name, self.b.limits())?;
        self.slots.insert(name.to_string(), Slot::Const(Rc::new(c)));
        Ok(())
    }

    /// The graph value of the ONNX value `name`, materializing a constant or the output of a
    /// `DequantizeLinear` on first use.
    pub fn value_of(&mut self, name: &str) -> Result<ValueId, OnnxError> {
        match self.slots.get(name).cloned() {
            Some(Slot::Value(v)) => return Ok(v),
            Some(Slot::Const(c)) => {
                let t = c.to_shared_tensor().ok_or_else(|| {
                    OnnxError::tensor(name, format!("{} constants cannot be graph values", c.ty))
                })?;
                let id = self
                    .b
                    .constant(self.unique(name), t)
                    .map_err(|e| OnnxError::tensor(name, e.to_string()))?;
                self.slots.insert(name.to_string(), Slot::Value(id));
                // Keep the constant readable for parameter lookups.
                self.consts.insert(name.to_string(), c);
                return Ok(id);
            }
            None => {}
        }
        let Some(dq) = self.dq.get(name).cloned() else {
            return Err(OnnxError::model(format!("value `{name}` is used before it is defined")));
        };
        let source = self.value_of(&dq.source)?;
        let op = Op::QnnDequantize { input: dq.q.clone() };
        let id = self
            .b
            .node(self.unique(name), op, &[source])
            .map_err(|e| OnnxError::tensor(name, format!("dequantize: {e}")))?;
        let qnn_name = self.b.graph().value(id).name.clone();
        self.created.entry(dq.node).or_default().push(qnn_name);
        self.slots.insert(name.to_string(), Slot::Value(id));
        Ok(id)
    }

    /// The graph value of input `i` (required).
    pub fn value(&mut self, n: &Node<'_>, i: usize) -> Result<ValueId, OnnxError> {
        let name = n.input(i).ok_or_else(|| n.input_error(i, "is required"))?;
        self.value_of(name).map_err(|e| n.input_error(i, e.to_string()))
    }

    /// The constant behind input `i`, or `None` when the input is absent.
    pub fn opt_constant(&self, n: &Node<'_>, i: usize) -> Result<Option<Rc<Constant>>, OnnxError> {
        let Some(name) = n.input(i) else { return Ok(None) };
        match (self.slots.get(name), self.consts.get(name)) {
            (Some(Slot::Const(c)), _) | (_, Some(c)) => Ok(Some(c.clone())),
            _ => Err(n.input_error(
                i,
                "must be a constant (an initializer, a Constant node or a bound graph input)",
            )),
        }
    }

    /// The constant behind input `i` (required).
    pub fn constant(&self, n: &Node<'_>, i: usize) -> Result<Rc<Constant>, OnnxError> {
        self.opt_constant(n, i)?.ok_or_else(|| n.input_error(i, "is required"))
    }

    /// True when `name` is a known constant.
    pub fn is_const(&self, name: &str) -> bool {
        matches!(self.slots.get(name), Some(Slot::Const(_))) || self.consts.contains_key(name)
    }

    /// Element type and shape of input `i` without materializing anything.
    pub fn input_type(&self, n: &Node<'_>, i: usize) -> Result<TensorType, OnnxError> {
        let name = n.input(i).ok_or_else(|| n.input_error(i, "is required"))?;
        match self.slots.get(name) {
            Some(Slot::Value(v)) => Ok(self.ty(*v)),
            Some(Slot::Const(c)) => {
                c.ty.dtype()
                    .map(|d| TensorType::new(d, c.shape.clone()))
                    .ok_or_else(|| n.input_error(i, format!("{} tensors are not supported", c.ty)))
            }
            None => match self.dq.get(name) {
                Some(dq) => {
                    let src = self
                        .source_type(&dq.source)
                        .ok_or_else(|| n.input_error(i, "undefined"))?;
                    Ok(TensorType::new(DType::F32, src.shape))
                }
                None => Err(n.input_error(i, "is used before it is defined")),
            },
        }
    }

    fn source_type(&self, name: &str) -> Option<TensorType> {
        match self.slots.get(name)? {
            Slot::Value(v) => Some(self.ty(*v)),
            Slot::Const(c) => Some(TensorType::new(c.ty.dtype()?, c.shape.clone())),
        }
    }

    /// Quantization parameters from a scale input and an optional zero-point input, for data
    /// of `dtype`. One value each is per tensor; more need `axis` (per axis). The zero point's
    /// type must be the data's.
    pub fn qparams(
        &self,
        n: &Node<'_>,
        scale_i: usize,
        zp_i: Option<usize>,
        dtype: DType,
        axis: Option<usize>,
    ) -> Result<QuantParams, OnnxError> {
        if let Some(&(scale, zp)) = self.qdq.params.get(&n.index)
            && matches!(n.op(), "QuantizeLinear" | "DequantizeLinear")
        {
            return Ok(QuantParams::per_tensor(scale, zp));
        }
        let s = self.constant(n, scale_i)?;
        let scale = s
            .floats()
            .filter(|_| matches!(s.ty, OnnxType::FLOAT | OnnxType::FLOAT16))
            .ok_or_else(|| n.input_error(scale_i, format!("a scale must be FLOAT, got {}", s.ty)))?
            .to_vec();
        let zp = match zp_i.map(|i| self.opt_constant(n, i)).transpose()?.flatten() {
            None => vec![0],
            Some(z) => {
                if z.ty.dtype() != Some(dtype) {
                    return Err(n.input_error(
                        zp_i.unwrap_or(0),
                        format!("zero point of type {} for {} data", z.ty, OnnxType::of(dtype)),
                    ));
                }
                let v: Vec<i32> = z.ints().unwrap_or_default().iter().map(|&v| v as i32).collect();
                if v.len() != scale.len() && v.len() != 1 {
                    return Err(n.input_error(
                        zp_i.unwrap_or(0),
                        format!("{} zero points for {} scales", v.len(), scale.len()),
                    ));
                }
                v
            }
        };
        if scale.is_empty() {
            return Err(n.input_error(scale_i, "the scale is empty"));
        }
        if s.shape.len() > 1 && scale.len() > 1 {
            return Err(n.input_error(
                scale_i,
                format!("scale of shape {:?}: blocked parameters are not supported here", s.shape),
            ));
        }
        if scale.len() == 1 && zp.len() == 1 {
            return Ok(QuantParams::per_tensor(scale[0], zp[0]));
        }
        let axis = axis.ok_or_else(|| {
            n.input_error(
                scale_i,
                format!("{} scales: this op needs per-tensor parameters", scale.len()),
            )
        })?;
        Ok(QuantParams::per_axis(scale, zp, axis))
    }

    /// The type of the output's zero point (input `zp_i`), or `default`.
    pub fn zp_dtype(
        &self,
        n: &Node<'_>,
        zp_i: usize,
        default: Option<DType>,
    ) -> Result<DType, OnnxError> {
        match self.opt_constant(n, zp_i)? {
            Some(z) => z.ty.dtype().filter(|d| d.is_integer()).ok_or_else(|| {
                n.input_error(zp_i, format!("zero point of type {} is not supported", z.ty))
            }),
            None => default
                .or_else(|| {
                    n.output(0).ok().and_then(|o| self.m.declared_type(o)).and_then(OnnxType::dtype)
                })
                .ok_or_else(|| n.input_error(zp_i, "absent, and the output type is not declared")),
        }
    }

    /// `out` stands for the same thing as `src`.
    pub fn alias(&mut self, src: &str, out: &str) {
        if let Some(s) = self.slots.get(src).cloned() {
            self.slots.insert(out.to_string(), s);
        } else if let Some(dq) = self.dq.get(src).cloned() {
            self.dq.insert(out.to_string(), dq);
        }
        if let Some(c) = self.consts.get(src).cloned() {
            self.consts.insert(out.to_string(), c);
        }
    }
}
