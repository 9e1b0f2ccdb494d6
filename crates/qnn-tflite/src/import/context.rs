//! The importer's state and toolbox: TFLite tensors to qnn values (constants read from their
//! buffers on first use), their types and quantization parameters, node emission.

use flatbuffers::{ForwardsUOffset, Vector};
use qnn_ir::limits::Limits;
use qnn_ir::{DType, GraphBuilder, Op, QuantParams, Tensor, TensorType, ValueId};

use super::{ImportOptions, Kernels, builtin_name};
use crate::error::TfliteError;
use crate::generated as fb;

/// One operator being imported, with its label for errors (`#3 CONV_2D`).
pub(crate) struct OpRef<'m> {
    pub code: fb::BuiltinOperator,
    pub code_name: String,
    pub op: fb::Operator<'m>,
    pub label: String,
}

impl OpRef<'_> {
    pub fn unsupported(&self, msg: impl Into<String>) -> TfliteError {
        TfliteError::Unsupported { op: self.label.clone(), msg: msg.into() }
    }

    pub fn error(&self, msg: impl Into<String>) -> TfliteError {
        TfliteError::Operator { op: self.label.clone(), msg: msg.into() }
    }

    /// The tensor index of input `k`, `None` when absent (index −1 or past the end).
    pub fn opt_input(&self, k: usize) -> Option<i32> {
        let ins = self.op.inputs()?;
        (k < ins.len()).then(|| ins.get(k)).filter(|&t| t >= 0)
    }

    pub fn input(&self, k: usize) -> Result<i32, TfliteError> {
        self.opt_input(k).ok_or_else(|| self.error(format!("input {k} is missing")))
    }

    pub fn output(&self, k: usize) -> Result<i32, TfliteError> {
        let outs = self.op.outputs();
        outs.and_then(|o| (k < o.len()).then(|| o.get(k)))
            .filter(|&t| t >= 0)
            .ok_or_else(|| self.error(format!("output {k} is missing")))
    }
}

/// A tensor's declared type and quantization.
#[derive(Debug, Clone)]
pub(crate) struct Info {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub q: Option<QuantParams>,
}

impl Info {
    pub fn ty(&self) -> TensorType {
        TensorType::new(self.dtype, self.shape.clone())
    }

    /// Per-tensor (scale, zero point), or an error naming the operand.
    pub fn per_tensor(&self, op: &OpRef<'_>, what: &str) -> Result<(f32, i32), TfliteError> {
        match &self.q {
            Some(q) if q.scale.len() == 1 && q.zero_point.len() == 1 => {
                Ok((q.scale[0], q.zero_point[0]))
            }
            Some(_) => Err(op.unsupported(format!(
                "{what} `{}` has per-axis parameters where one scale is expected",
                self.name
            ))),
            None => Err(op.unsupported(format!("{what} `{}` is not quantized", self.name))),
        }
    }
}

pub(crate) struct Ctx<'m> {
    bytes: &'m [u8],
    root: fb::Model<'m>,
    tensors: Vector<'m, ForwardsUOffset<fb::Tensor<'m>>>,
    pub b: GraphBuilder,
    values: Vec<Option<ValueId>>,
    pub kernels: Kernels,
    limits: Limits,
    /// The qnn nodes emitted for the operator being imported (for its summary).
    pub created: Vec<String>,
}

impl<'m> Ctx<'m> {
    pub fn new(
        bytes: &'m [u8],
        root: fb::Model<'m>,
        sub: fb::SubGraph<'m>,
        opts: &ImportOptions,
    ) -> Result<Self, TfliteError> {
        let tensors =
            sub.tensors().ok_or_else(|| TfliteError::model("the subgraph has no tensors"))?;
        let limits = opts.limits.unwrap_or_default();
        let name = sub.name().unwrap_or("main").to_string();
        Ok(Ctx {
            bytes,
            root,
            tensors,
            b: GraphBuilder::with_limits(name, limits),
            values: vec![None; tensors.len()],
            kernels: opts.kernels,
            limits,
            created: Vec::new(),
        })
    }

    pub fn op_ref(&self, index: usize, op: fb::Operator<'m>) -> Result<OpRef<'m>, TfliteError> {
        let i = op.opcode_index() as usize;
        let codes = self.root.operator_codes().map(|c| c.len()).unwrap_or(0);
        if i >= codes {
            return Err(TfliteError::model(format!(
                "operator #{index}: opcode index {i} out of range ({codes} codes)"
            )));
        }
        let code = super::builtin_code(&self.root.operator_codes().unwrap_or_default().get(i));
        let code_name = builtin_name(&self.root, i);
        Ok(OpRef { code, label: format!("#{index} {code_name}"), code_name, op })
    }

    fn tensor(&self, t: i32) -> Result<fb::Tensor<'m>, TfliteError> {
        usize::try_from(t)
            .ok()
            .filter(|&i| i < self.tensors.len())
            .map(|i| self.tensors.get(i))
            .ok_or_else(|| {
                TfliteError::model(format!(
                    "tensor index {t} out of range ({})",
                    self.tensors.len()
                ))
            })
    }

    /// The declared type, shape and quantization of tensor `t`, checked against the limits.
    pub fn info(&self, t: i32) -> Result<Info, TfliteError> {
        let tensor = self.tensor(t)?;
        let name = tensor.name().map(str::to_string).unwrap_or_else(|| format!("tensor{t}"));
        let dtype = match tensor.type_() {
            fb::TensorType::INT8 => DType::I8,
            fb::TensorType::UINT8 => DType::U8,
            fb::TensorType::INT16 => DType::I16,
            fb::TensorType::INT32 => DType::I32,
            fb::TensorType::FLOAT32 => DType::F32,
            other => {
                return Err(TfliteError::model(format!(
                    "tensor `{name}`: element type {} is not supported",
                    other.variant_name().unwrap_or("unknown")
                )));
            }
        };
        let mut shape = Vec::new();
        for d in tensor.shape().iter().flat_map(|s| s.iter()) {
            let d = usize::try_from(d).map_err(|_| {
                TfliteError::model(format!(
                    "tensor `{name}`: dimension {d} (dynamic shapes are not supported)"
                ))
            })?;
            shape.push(d);
        }
        let ty = TensorType::new(dtype, shape.clone());
        self.limits
            .check_type(&format!("tensor `{name}`"), &ty)
            .map_err(|e| TfliteError::Limit(Box::new(e)))?;
        let q = quant(&name, &tensor, &shape)?;
        Ok(Info { name, dtype, shape, q })
    }

    /// The raw bytes of tensor `t`'s buffer (`None` when it has none: an activation).
    fn data(&self, t: &fb::Tensor<'m>, name: &str) -> Result<Option<&'m [u8]>, TfliteError> {
        if t.external_buffer() != 0 {
            return Err(TfliteError::model(format!(
                "tensor `{name}`: data in external buffer {} (not supported)",
                t.external_buffer()
            )));
        }
        let i = t.buffer() as usize;
        if i == 0 {
            return Ok(None);
        }
        let buffers = self.root.buffers().ok_or_else(|| TfliteError::model("no buffers"))?;
        if i >= buffers.len() {
            return Err(TfliteError::model(format!("tensor `{name}`: buffer {i} out of range")));
        }
        let buffer = buffers.get(i);
        // Schema 3c: large buffers live after the flatbuffer, at `offset` from the file start.
        if buffer.offset() > 1 {
            let (off, size) = (buffer.offset(), buffer.size());
            let end = off.checked_add(size).filter(|&e| e <= self.bytes.len() as u64);
            let Some(end) = end else {
                return Err(TfliteError::model(format!(
                    "tensor `{name}`: buffer {i} at {off}+{size} lies past the end of the file ({} bytes)",
                    self.bytes.len()
                )));
            };
            return Ok(Some(&self.bytes[off as usize..end as usize]));
        }
        Ok(buffer.data().map(|d| d.bytes()).filter(|d| !d.is_empty()))
    }

    /// The constant data of tensor `t` as a qnn tensor, `None` for an activation.
    pub fn constant(&self, t: i32) -> Result<Option<Tensor>, TfliteError> {
        let info = self.info(t)?;
        let Some(bytes) = self.data(&self.tensor(t)?, &info.name)? else { return Ok(None) };
        let n: usize = info.shape.iter().product();
        let size = info.dtype.size_bytes();
        if bytes.len() != n * size {
            return Err(TfliteError::model(format!(
                "tensor `{}`: buffer of {} bytes for {} {} values",
                info.name,
                bytes.len(),
                n,
                info.dtype
            )));
        }
        let tensor = match info.dtype {
            DType::I8 => Tensor::from_vec(&info.shape, bytes.iter().map(|&b| b as i8).collect()),
            DType::U8 => Tensor::from_vec(&info.shape, bytes.to_vec()),
            DType::I16 => Tensor::from_vec(&info.shape, le(bytes, i16::from_le_bytes)),
            DType::I32 => Tensor::from_vec(&info.shape, le(bytes, i32::from_le_bytes)),
            DType::F32 => Tensor::from_vec(&info.shape, le(bytes, f32::from_le_bytes)),
        };
        tensor.map(Some).map_err(|e| TfliteError::Ir {
            op: format!("tensor `{}`", info.name),
            source: Box::new(e),
        })
    }

    /// Declares subgraph input `t` as a graph input.
    pub fn declare_input(&mut self, t: i32) -> Result<(String, TensorType), TfliteError> {
        let info = self.info(t)?;
        let v = self.b.input(info.name.clone(), info.ty()).map_err(|e| graph_err("input", e))?;
        self.values[t as usize] = Some(v);
        let ty = info.ty();
        Ok((info.name, ty))
    }

    /// The value of tensor `t`: what an operator bound to it, or its constant data.
    pub fn value(&mut self, t: i32) -> Result<ValueId, TfliteError> {
        let info = self.info(t)?;
        if let Some(v) = self.values[t as usize] {
            return Ok(v);
        }
        let Some(c) = self.constant(t)? else {
            return Err(TfliteError::model(format!(
                "tensor `{}` is read before any operator produces it",
                info.name
            )));
        };
        let name = self.unique(&info.name);
        let v = self.b.constant(name, c).map_err(|e| graph_err("constant", e))?;
        self.values[t as usize] = Some(v);
        Ok(v)
    }

    /// A value name not taken yet, from `stem`.
    pub fn unique(&self, stem: &str) -> String {
        self.b.unique_name(stem)
    }

    /// Adds `op` on `inputs`, named `stem` (made unique).
    pub fn emit(
        &mut self,
        o: &OpRef<'_>,
        stem: &str,
        op: Op,
        inputs: &[ValueId],
    ) -> Result<ValueId, TfliteError> {
        let name = self.unique(stem);
        let v = self
            .b
            .node(name.clone(), op, inputs)
            .map_err(|e| TfliteError::Ir { op: o.label.clone(), source: Box::new(e) })?;
        self.created.push(name);
        Ok(v)
    }

    /// Adds a constant named after `stem`.
    pub fn emit_const(
        &mut self,
        o: &OpRef<'_>,
        stem: &str,
        t: Tensor,
    ) -> Result<ValueId, TfliteError> {
        let name = self.unique(stem);
        self.b
            .constant(name, t)
            .map_err(|e| TfliteError::Ir { op: o.label.clone(), source: Box::new(e) })
    }

    /// Binds output tensor `t` to `v` after checking that `v` has the tensor's declared type.
    pub fn bind(&mut self, o: &OpRef<'_>, t: i32, v: ValueId) -> Result<(), TfliteError> {
        let info = self.info(t)?;
        let got = self.b.graph().ty(v).clone();
        if got != info.ty() {
            return Err(o.error(format!(
                "output `{}` is declared {} but the operator computes {got}",
                info.name,
                info.ty()
            )));
        }
        if self.values[t as usize].is_some() {
            return Err(o.error(format!("output `{}` is written twice", info.name)));
        }
        self.values[t as usize] = Some(v);
        Ok(())
    }
}

fn le<const N: usize, T>(bytes: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
    bytes.chunks_exact(N).map(|c| f(c.try_into().unwrap_or([0; N]))).collect()
}

fn graph_err(what: &str, e: qnn_ir::IrError) -> TfliteError {
    TfliteError::Ir { op: what.into(), source: Box::new(e) }
}

/// The quantization parameters of a tensor (`None` when it has no scale).
fn quant(
    name: &str,
    t: &fb::Tensor<'_>,
    shape: &[usize],
) -> Result<Option<QuantParams>, TfliteError> {
    let Some(q) = t.quantization() else { return Ok(None) };
    let scale: Vec<f32> = q.scale().map(|s| s.iter().collect()).unwrap_or_default();
    if scale.is_empty() {
        return Ok(None);
    }
    let mut zp = Vec::new();
    for z in q.zero_point().iter().flat_map(|z| z.iter()) {
        zp.push(
            i32::try_from(z)
                .map_err(|_| TfliteError::model(format!("tensor `{name}`: zero point {z}")))?,
        );
    }
    if zp.is_empty() {
        zp.push(0);
    }
    if scale.len() == 1 && zp.len() == 1 {
        return Ok(Some(QuantParams::per_tensor(scale[0], zp[0])));
    }
    let axis = usize::try_from(q.quantized_dimension()).ok().filter(|&a| a < shape.len());
    let Some(axis) = axis else {
        return Err(TfliteError::model(format!(
            "tensor `{name}`: quantized dimension {} outside its rank {}",
            q.quantized_dimension(),
            shape.len()
        )));
    };
    Ok(Some(QuantParams::per_axis(scale, zp, axis)))
}
