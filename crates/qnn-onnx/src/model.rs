//! A decoded ONNX model: format checks, opsets, and the graph's inputs and outputs.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use crate::constant::Constant;
use crate::error::OnnxError;
use crate::onnx_type::OnnxType;
use crate::proto::{self, GraphProto, ModelProto, ValueInfoProto};

/// Opsets of the default (`ai.onnx`) domain the importer reads.
pub const OPSET_RANGE: std::ops::RangeInclusive<i64> = 10..=21;

/// One dimension of a declared shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    Fixed(usize),
    /// A named dimension (`batch`, `N`, …).
    Symbolic(String),
    /// Neither a value nor a name.
    Unknown,
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(d) => write!(f, "{d}"),
            Dim::Symbolic(s) => f.write_str(s),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// A graph input or output as the model declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoInfo {
    pub name: String,
    pub elem_type: OnnxType,
    /// `None` when the model declares no shape.
    pub dims: Option<Vec<Dim>>,
}

impl IoInfo {
    /// The shape when every dimension is fixed.
    pub fn fixed_shape(&self) -> Option<Vec<usize>> {
        self.dims
            .as_ref()?
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => Some(*n),
                _ => None,
            })
            .collect()
    }
}

impl fmt::Display for IoInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.elem_type)?;
        if let Some(dims) = &self.dims {
            let d: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            write!(f, "[{}]", d.join(","))?;
        }
        Ok(())
    }
}

/// A decoded model.
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) proto: ModelProto,
    pub(crate) graph: GraphProto,
    /// Version of the default domain.
    pub opset: i64,
    /// Version of `com.microsoft`, when imported.
    pub ms_opset: Option<i64>,
    pub ir_version: i64,
    pub(crate) initializers: BTreeMap<String, usize>,
}

impl Model {
    /// Reads and decodes a `.onnx` file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Model, OnnxError> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).map_err(|source| OnnxError::Io { path: path.into(), source })?;
        Model::from_bytes(&bytes)
    }

    /// Decodes a serialized `ModelProto` and checks what the importer relies on: a graph, an
    /// opset of the default domain in [`OPSET_RANGE`], unique value names.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, OnnxError> {
        if bytes.is_empty() {
            return Err(OnnxError::model("the file is empty (0 bytes), not an ONNX model"));
        }
        let mut proto = proto::decode_model(bytes).map_err(|e| OnnxError::Decode {
            what: "ONNX model (ModelProto)".into(),
            msg: e.to_string(),
        })?;
        let graph = proto.graph.take().ok_or_else(|| OnnxError::model("the model has no graph"))?;
        let mut opset = None;
        let mut ms_opset = None;
        for o in &proto.opset_import {
            match o.domain.as_str() {
                "" | "ai.onnx" => opset = Some(o.version),
                "com.microsoft" => ms_opset = Some(o.version),
                _ => {}
            }
        }
        let opset = opset.ok_or_else(|| {
            OnnxError::model("no opset of the default domain (ai.onnx) is imported")
        })?;
        if !OPSET_RANGE.contains(&opset) {
            return Err(OnnxError::model(format!(
                "opset {opset} of the default domain is outside the supported range {}..={}",
                OPSET_RANGE.start(),
                OPSET_RANGE.end()
            )));
        }
        if !proto.functions.is_empty() {
            return Err(OnnxError::model("model-local functions are not supported"));
        }
        let mut initializers = BTreeMap::new();
        for (i, t) in graph.initializer.iter().enumerate() {
            if initializers.insert(t.name.clone(), i).is_some() {
                return Err(OnnxError::model(format!("initializer `{}` is defined twice", t.name)));
            }
        }
        if let Some(s) = graph.sparse_initializer.first() {
            let name = s.values.as_ref().map(|v| v.name.as_str()).unwrap_or("");
            return Err(OnnxError::model(format!("sparse initializer `{name}` is not supported")));
        }
        if graph.output.is_empty() {
            // ONNX Runtime refuses it too; running it would compute and write nothing.
            return Err(OnnxError::model(format!(
                "graph `{}` declares no output: there is nothing to compute",
                graph.name
            )));
        }
        let ir_version = proto.ir_version;
        let model = Model { proto, graph, opset, ms_opset, ir_version, initializers };
        model.check_names()?;
        Ok(model)
    }

    /// Every value is defined once: by a graph input, an initializer or one node output.
    fn check_names(&self) -> Result<(), OnnxError> {
        let mut defined: HashSet<&str> = self.initializers.keys().map(String::as_str).collect();
        for i in &self.graph.input {
            if !self.initializers.contains_key(&i.name) && !defined.insert(&i.name) {
                return Err(OnnxError::model(format!(
                    "graph input `{}` is declared twice",
                    i.name
                )));
            }
        }
        for (k, n) in self.graph.node.iter().enumerate() {
            if n.op_type.is_empty() {
                return Err(OnnxError::model(format!(
                    "node {} has an empty op_type: every node must name its operator",
                    crate::import::label(n, k)
                )));
            }
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                if !defined.insert(o) {
                    return Err(OnnxError::model(format!(
                        "value `{o}` is defined more than once (again by node `{}` ({}))",
                        n.name, n.op_type
                    )));
                }
            }
        }
        Ok(())
    }

    /// The graph's name.
    pub fn graph_name(&self) -> &str {
        &self.graph.name
    }

    /// The producer recorded in the model (`onnx.quantize`, `pytorch`, …).
    pub fn producer(&self) -> String {
        format!("{} {}", self.proto.producer_name, self.proto.producer_version).trim().to_string()
    }

    /// Graph inputs that are fed at run time (those with an initializer are constants).
    pub fn inputs(&self) -> Result<Vec<IoInfo>, OnnxError> {
        self.graph
            .input
            .iter()
            .filter(|i| !self.initializers.contains_key(&i.name))
            .map(|v| io_info("input", v))
            .collect()
    }

    /// Graph outputs as declared (an output declared without a type has element type
    /// UNDEFINED and no shape).
    pub fn outputs(&self) -> Result<Vec<IoInfo>, OnnxError> {
        self.graph
            .output
            .iter()
            .map(|v| match v.r#type {
                None => Ok(IoInfo { name: v.name.clone(), elem_type: OnnxType(0), dims: None }),
                Some(_) => io_info("output", v),
            })
            .collect()
    }

    /// Number of nodes of the graph.
    pub fn node_count(&self) -> usize {
        self.graph.node.len()
    }

    /// The initializer called `name`, decoded.
    pub fn initializer(&self, name: &str) -> Option<Result<Constant, OnnxError>> {
        let i = *self.initializers.get(name)?;
        Some(Constant::from_proto(&self.graph.initializer[i]))
    }

    /// The declared type of any value (graph inputs and outputs, `value_info`).
    pub(crate) fn declared_type(&self, name: &str) -> Option<OnnxType> {
        let g = &self.graph;
        g.input.iter().chain(&g.output).chain(&g.value_info).find(|v| v.name == name).and_then(
            |v| {
                let t = v.r#type.as_ref()?.tensor_type.as_ref()?;
                Some(OnnxType(t.elem_type))
            },
        )
    }
}

fn io_info(kind: &'static str, v: &ValueInfoProto) -> Result<IoInfo, OnnxError> {
    let t = v.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()).ok_or_else(|| {
        OnnxError::GraphIo { kind, name: v.name.clone(), msg: "not a tensor".into() }
    })?;
    let dims = t.shape.as_ref().map(|s| {
        s.dim
            .iter()
            .map(|d| match (&d.dim_value, &d.dim_param) {
                (Some(v), _) if *v >= 0 => Dim::Fixed(*v as usize),
                (_, Some(p)) if !p.is_empty() => Dim::Symbolic(p.clone()),
                _ => Dim::Unknown,
            })
            .collect()
    });
    Ok(IoInfo { name: v.name.clone(), elem_type: OnnxType(t.elem_type), dims })
}
