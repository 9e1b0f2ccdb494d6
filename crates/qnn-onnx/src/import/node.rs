//! One ONNX node as the importer sees it: its inputs, outputs and attributes, the errors that
//! name it, and how it was imported ([`Form`]).

use qnn_ir::IrError;

use crate::attrs::Attrs;
use crate::error::OnnxError;
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

/// How errors name a node: its name, or `#index → first output` when it has none.
pub(crate) fn label(n: &NodeProto, index: usize) -> String {
    if n.name.is_empty() {
        format!("#{index} → `{}`", n.output.first().map(String::as_str).unwrap_or(""))
    } else {
        format!("`{}`", n.name)
    }
}
