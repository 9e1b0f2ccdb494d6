//! The dispatch: each ONNX node to the importer of its op family (QDQ groups first, then by
//! domain and op type), and the inputs each op needs as constants.

use super::context::Importer;
use super::node::{Form, Node};
use super::{
    contrib, float_global_pool, float_ops, hard_activation, linear, qdq, qlinear_softmax, quantize,
    resize, slicing,
};
use crate::error::OnnxError;
use crate::proto::NodeProto;

impl Importer<'_> {
    /// Imports one node; `None` when it is part of a QDQ group imported with another node.
    pub(super) fn import_node(
        &mut self,
        i: usize,
        p: &NodeProto,
    ) -> Result<Option<Form>, OnnxError> {
        let n = Node::new(p, i);
        if self.qdq.absorbed.contains(&i) {
            return Ok(None);
        }
        let form = if let Some(form) = qdq::try_fuse(self, &n)? {
            form
        } else if self.qdq.removed.contains(&i) {
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
                    if n.op() == "QLinearSoftmax" {
                        qlinear_softmax::import(self, &n)?
                    } else {
                        contrib::import(self, &n)?
                    }
                }
                d => return Err(n.unsupported(format!("domain `{d}` is not supported"))),
            }
        };
        n.attrs.finish()?;
        Ok(Some(form))
    }

    fn import_default(&mut self, n: &Node<'_>) -> Result<Form, OnnxError> {
        match n.op() {
            "QuantizeLinear" => quantize::quantize_linear(self, n),
            "DequantizeLinear" => quantize::dequantize_linear(self, n),
            "QLinearConv" | "ConvInteger" => linear::conv(self, n),
            "QLinearMatMul" | "MatMulInteger" => linear::matmul(self, n),
            "Resize" | "Upsample" => resize::import(self, n),
            "HardSigmoid" | "HardSwish" => hard_activation::import(self, n),
            "GlobalAveragePool" => float_global_pool::import(self, n),
            "Slice" | "Split" | "DepthToSpace" | "SpaceToDepth" => slicing::import(self, n),
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
        ("", "Resize") => vec![1, 2, 3],
        ("", "Upsample") => vec![1],
        ("", "Slice") => vec![1, 2, 3, 4],
        ("", "Split") => vec![1],
        ("com.microsoft", "QLinearAdd" | "QLinearMul") => vec![1, 2, 4, 5, 6, 7],
        ("com.microsoft", "QGemm") => vec![1, 2, 4, 5, 7, 8],
        (
            "com.microsoft",
            "QLinearGlobalAveragePool"
            | "QLinearAveragePool"
            | "QLinearLeakyRelu"
            | "QLinearSigmoid"
            | "QLinearSoftmax",
        ) => vec![1, 2, 3, 4],
        ("com.microsoft", "QLinearConcat") => {
            let mut v = vec![0, 1];
            v.extend((2..n.input.len()).filter(|i| (i - 2) % 3 != 0));
            v
        }
        _ => vec![],
    }
}
