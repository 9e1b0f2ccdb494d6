//! Per-node context and the importer's helpers: reading inputs (values, constants,
//! quantization parameters), emitting qnn nodes, and the dispatch by op type.

use std::rc::Rc;

use qnn_ir::{DType, IrError, Op, QuantParams, Tensor, TensorType, ValueId};

use super::{Importer, Slot, contrib, float_ops, label, linear, qdq, quantize};
use crate::attrs::Attrs;
use crate::constant::Constant;
use crate::error::OnnxError;
use crate::onnx_type::OnnxType;
use crate::proto::NodeProto;

/// How an ONNX node was imported (for [`NodeSummary`](super::NodeSummary)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A quantized operator (QOperator form: `QLinearConv`, `com.microsoft` ops, …).
    QOperator,
    /// A float op with its `DequantizeLinear` inputs and `QuantizeLinear` output folded into
    /// one QNN op (QDQ form), or a data-movement op run on the integers with its Q/DQ dropped.
    Qdq,
    /// `QuantizeLinear` / `DequantizeLinear` kept as a conversion.
    Conversion,
    /// A float op on float values.
    Float,
    /// A shape or data-movement op (Reshape, Transpose, …).
    Shape,
    /// Folded at import time (constants, shape arithmetic, a Relu/Clip that the following
    /// `QuantizeLinear` makes redundant).
    Folded,
}

/// One ONNX node being imported.
pub(crate) struct Node<'m> {
    pub p: &'m NodeProto,
    pub index: usize,
    pub label: String,
    pub attrs: Attrs<'m>,
}

impl<'m> Node<'m> {
    pub fn new(p: &'m NodeProto, index: usize) -> Self {
        let label = label(p, index);
        Node { p, index, attrs: Attrs::new(p, label.clone()), label }
    }

    pub fn op(&self) -> &'m str {
        &self.p.op_type
    }

    /// Input `i` when present (absent optional inputs have empty names).
    pub fn input(&self, i: usize) -> Option<&'m str> {
        self.p.input.get(i).map(String::as_str).filter(|s| !s.is_empty())
    }

    pub fn output(&self, i: usize) -> Result<&'m str, OnnxError> {
        self.p
            .output
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.unsupported(format!("output {i} is missing")))
    }

    pub fn unsupported(&self, msg: impl Into<String>) -> OnnxError {
        OnnxError::Unsupported {
            node: self.label.clone(),
            op_type: self.op_type(),
            msg: msg.into(),
        }
    }

    pub fn input_error(&self, i: usize, msg: impl Into<String>) -> OnnxError {
        OnnxError::Input {
            node: self.label.clone(),
            op_type: self.op_type(),
            index: i,
            name: self.input(i).unwrap_or("").into(),
            msg: msg.into(),
        }
    }

    pub fn ir(&self, source: IrError) -> OnnxError {
        OnnxError::Ir {
            node: self.label.clone(),
            op_type: self.op_type(),
            source: Box::new(source),
        }
    }

    /// `domain::op` for non-default domains.
    pub fn op_type(&self) -> String {
        match self.p.domain.as_str() {
            "" | "ai.onnx" => self.p.op_type.clone(),
            d => format!("{d}::{}", self.p.op_type),
        }
    }

    /// Checks the number of inputs (counting trailing absent ones as absent) and outputs.
    pub fn arity(&self, min: usize, max: usize, outputs: usize) -> Result<(), OnnxError> {
        let n = self.p.input.len();
        if n < min || n > max || (0..min).any(|i| self.input(i).is_none()) {
            return Err(self.unsupported(format!("takes {min}..={max} inputs, got {n}")));
        }
        let used = self.p.output.iter().filter(|o| !o.is_empty()).count();
        if self.p.output.len() > outputs && used > outputs {
            return Err(self.unsupported(format!(
                "only the first {outputs} output(s) are supported, {used} are used"
            )));
        }
        if self.p.output.is_empty() {
            return Err(self.unsupported("has no output"));
        }
        Ok(())
    }
}

impl Importer<'_> {
    /// A unique qnn value name from `stem`.
    pub fn unique(&self, stem: &str) -> String {
        if self.b.graph().find(stem).is_none() {
            return stem.to_string();
        }
        (1..)
            .map(|k| format!("{stem}#{k}"))
            .find(|s| self.b.graph().find(s).is_none())
            .unwrap_or_default()
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
                let t = c.to_tensor().ok_or_else(|| {
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
        if let Some(&(scale, zp)) = self.plan.params.get(&n.index)
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
                let v: Vec<i32> = z.ints().unwrap_or(&[]).iter().map(|&v| v as i32).collect();
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

    /// Imports one node; `None` when it is part of a QDQ group imported with another node.
    pub fn import_node(&mut self, i: usize, p: &NodeProto) -> Result<Option<Form>, OnnxError> {
        let n = Node::new(p, i);
        if self.plan.absorbed.contains(&i) {
            return Ok(None);
        }
        let form = if let Some(form) = qdq::try_fuse(self, &n)? {
            form
        } else if self.plan.removed.contains(&i) {
            // A Relu/Clip the following QuantizeLinear makes redundant, or the middle of a
            // double Q/DQ pair: an alias of its input.
            let src = n.input(0).ok_or_else(|| n.input_error(0, "is required"))?;
            let out = n.output(0)?;
            self.alias(src, out);
            return Ok(Some(Form::Folded));
        } else {
            match p.domain.as_str() {
                "" | "ai.onnx" => self.import_default(&n)?,
                "com.microsoft" => {
                    if self.m.ms_opset.is_none() {
                        return Err(
                            n.unsupported("the model does not import the com.microsoft domain")
                        );
                    }
                    contrib::import(self, &n)?
                }
                d => return Err(n.unsupported(format!("domain `{d}` is not supported"))),
            }
        };
        n.attrs.finish()?;
        Ok(Some(form))
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

    fn import_default(&mut self, n: &Node<'_>) -> Result<Form, OnnxError> {
        match n.op() {
            "QuantizeLinear" => quantize::quantize_linear(self, n),
            "DequantizeLinear" => quantize::dequantize_linear(self, n),
            "QLinearConv" | "ConvInteger" => linear::conv(self, n),
            "QLinearMatMul" | "MatMulInteger" => linear::matmul(self, n),
            _ => float_ops::import(self, n),
        }
    }
}

/// Inputs of `n` the importer needs as constants (for [`Model::static_inputs`]).
pub(crate) fn constant_inputs(n: &NodeProto) -> Vec<usize> {
    match (n.domain.as_str(), n.op_type.as_str()) {
        ("", "QuantizeLinear" | "DequantizeLinear") => vec![1, 2],
        ("", "QLinearConv" | "QLinearMatMul") => vec![1, 2, 4, 5, 6, 7],
        ("", "ConvInteger" | "MatMulInteger") => vec![2, 3],
        ("", "Reshape" | "Squeeze" | "Unsqueeze" | "Tile" | "Expand") => vec![1],
        ("", "Pad") => vec![1, 2, 3],
        ("", "Clip") => vec![1, 2],
        ("com.microsoft", "QLinearAdd" | "QLinearMul") => vec![1, 2, 4, 5, 6, 7],
        ("com.microsoft", "QGemm") => vec![1, 2, 4, 5, 7, 8],
        (
            "com.microsoft",
            "QLinearGlobalAveragePool"
            | "QLinearAveragePool"
            | "QLinearLeakyRelu"
            | "QLinearSigmoid",
        ) => vec![1, 2, 3, 4],
        ("com.microsoft", "QLinearConcat") => {
            let mut v = vec![0, 1];
            v.extend((2..n.input.len()).filter(|i| (i - 2) % 3 != 0));
            v
        }
        _ => vec![],
    }
}
