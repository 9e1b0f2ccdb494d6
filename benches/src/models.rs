//! The two whole models of the benchmarks: the MobileNetV2-style and ResNet-style networks
//! quantized by ONNX Runtime (QOperator form, per-channel weights; the fixtures of
//! `qnn-onnx`), compiled into the binary so that a bench binary copied to a board needs no
//! other file.

use anyhow::Context;
use qnn_ir::{DType, Graph, Tensor};
use qnn_legalize::{Capability, Target, legalize};
use qnn_onnx::{ImportOptions, Model};

const MOBILENETV2: &[u8] =
    include_bytes!("../../crates/qnn-onnx/tests/fixtures/models/mobilenetv2_qop_pc.onnx");
const RESNET: &[u8] =
    include_bytes!("../../crates/qnn-onnx/tests/fixtures/models/resnet_qop_pc.onnx");

/// A whole model, imported, with an input.
#[derive(Debug, Clone)]
pub struct WholeModel {
    pub name: &'static str,
    pub graph: Graph,
    pub input: Tensor,
    /// MACs of its conv/dense ops.
    pub macs: u64,
    /// Its conv/dense ops.
    pub convs: usize,
}

/// Both models, in a fixed order.
pub fn whole_models() -> anyhow::Result<Vec<WholeModel>> {
    [("mobilenetv2", MOBILENETV2), ("resnet", RESNET)]
        .into_iter()
        .map(|(name, bytes)| {
            let graph = Model::from_bytes(bytes)
                .and_then(|m| m.import(&ImportOptions::default()))
                .with_context(|| format!("importing {name}"))?
                .graph;
            let x = graph.inputs.first().with_context(|| format!("{name} has no input"))?;
            let ty = graph.ty(*x).clone();
            anyhow::ensure!(ty.dtype == DType::F32, "{name}: input is {}, not f32", ty.dtype);
            // Smooth values in [−2, 2]: a fixed pattern, the same for every run.
            let n: usize = ty.shape.iter().product();
            let v: Vec<f32> = (0..n).map(|i| 2.0 * ((i as f32) * 0.0137).sin()).collect();
            let input = Tensor::from_vec(&ty.shape, v)?;
            let ex = legalize(&graph, &Target::host(), &Capability)?.explanation;
            Ok(WholeModel {
                name,
                macs: ex.ops.iter().map(|o| o.macs).sum(),
                convs: ex.ops.len(),
                graph,
                input,
            })
        })
        .collect()
}
