//! The import: the first subgraph's operators, in order, each to qnn-ir nodes.
//!
//! * `context.rs`: tensors to values (constants read from their buffers lazily), emission;
//! * `arith.rs`: TFLite's multipliers, activation ranges and requantization;
//! * `linear.rs`: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED;
//! * `binary.rs`: ADD, SUB, MUL; `pool.rs`: AVERAGE_POOL_2D, MAX_POOL_2D;
//! * `simple.rs`: RESHAPE, SQUEEZE, CONCATENATION, PAD, QUANTIZE, DEQUANTIZE, RELU, RELU6.

mod arith;
mod binary;
mod context;
mod linear;
mod pool;
mod simple;
mod summary;

pub use summary::OperatorSummary;

use qnn_ir::limits::Limits;
use qnn_ir::{Graph, TensorType};

use crate::error::TfliteError;
use crate::generated as fb;
use crate::model::Model;
use context::{Ctx, OpRef};

/// Which of LiteRT's kernels the imported graph reproduces bit for bit. They differ in how
/// CONV_2D and FULLY_CONNECTED requantize: the optimized builtin kernels go through ruy, which
/// rounds `acc · q · 2^(shift − 31)` once (ties toward +∞); the reference kernels round twice
/// (`SaturatingRoundingDoublingHighMul`, then `RoundingDivideByPOT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// The interpreter's builtin (optimized) kernels, without a delegate
    /// (`BUILTIN_WITHOUT_DEFAULT_DELEGATES`; also LiteRT's `BUILTIN`, minus XNNPACK).
    #[default]
    Builtin,
    /// The reference kernels (`BUILTIN_REF`).
    Reference,
}

/// Options of [`Model::import`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub kernels: Kernels,
    /// Memory limits checked before any tensor's data is read (default: the process default).
    pub limits: Option<Limits>,
}

/// A graph input or output.
#[derive(Debug, Clone, PartialEq)]
pub struct IoInfo {
    pub name: String,
    pub ty: TensorType,
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The graph in the QNN dialect, NHWC.
    pub graph: Graph,
    pub inputs: Vec<IoInfo>,
    pub outputs: Vec<IoInfo>,
    /// One entry per operator, in order: what it became.
    pub operators: Vec<OperatorSummary>,
}

impl Model {
    /// Imports the first subgraph.
    pub fn import(&self, opts: &ImportOptions) -> Result<Imported, TfliteError> {
        let root = self.root()?;
        let sub = first_subgraph(&root)?;
        let mut cx = Ctx::new(self.bytes(), root, sub, opts)?;
        let mut inputs = Vec::new();
        for t in sub.inputs().iter().flat_map(|v| v.iter()) {
            let (name, ty) = cx.declare_input(t)?;
            inputs.push(IoInfo { name, ty });
        }
        let mut operators = Vec::new();
        for (index, op) in sub.operators().iter().flatten().enumerate() {
            let op = cx.op_ref(index, op)?;
            cx.created.clear();
            import_op(&mut cx, &op)?;
            operators.push(summary::summarize(&cx, index, &op)?);
        }
        let mut outputs = Vec::new();
        for t in sub.outputs().iter().flat_map(|v| v.iter()) {
            let v = cx.value(t)?;
            cx.b.output(v);
            let value = cx.b.graph().value(v);
            outputs.push(IoInfo { name: value.name.clone(), ty: value.ty.clone() });
        }
        let graph =
            cx.b.finish()
                .map_err(|e| TfliteError::Ir { op: "graph".into(), source: Box::new(e) })?;
        Ok(Imported { graph, inputs, outputs, operators })
    }
}

fn import_op(cx: &mut Ctx<'_>, op: &OpRef<'_>) -> Result<(), TfliteError> {
    use fb::BuiltinOperator as B;
    match op.code {
        B::CONV_2D => linear::conv2d(cx, op),
        B::DEPTHWISE_CONV_2D => linear::depthwise(cx, op),
        B::FULLY_CONNECTED => linear::fully_connected(cx, op),
        B::ADD => binary::add_sub(cx, op, false),
        B::SUB => binary::add_sub(cx, op, true),
        B::MUL => binary::mul(cx, op),
        B::CONCATENATION => simple::concatenation(cx, op),
        B::PAD | B::PADV2 => simple::pad(cx, op),
        B::AVERAGE_POOL_2D => pool::pool(cx, op, pool::Kind::Average),
        B::MAX_POOL_2D => pool::pool(cx, op, pool::Kind::Max),
        B::RESHAPE | B::SQUEEZE => simple::reshape(cx, op),
        B::QUANTIZE => simple::quantize(cx, op),
        B::DEQUANTIZE => simple::dequantize(cx, op),
        B::RELU | B::RELU6 | B::RELU_N1_TO_1 => simple::relu(cx, op),
        _ => Err(op.unsupported("no importer for this operator yet")),
    }
}

/// The model's first subgraph (the one TFLite runs).
pub(crate) fn first_subgraph<'a>(root: &fb::Model<'a>) -> Result<fb::SubGraph<'a>, TfliteError> {
    root.subgraphs()
        .and_then(|s| s.iter().next())
        .ok_or_else(|| TfliteError::model("the model has no subgraph"))
}

/// The builtin name of operator code `i` (`CUSTOM(name)` for custom ops).
pub(crate) fn builtin_name(root: &fb::Model<'_>, i: usize) -> String {
    let Some(code) = root.operator_codes().and_then(|c| (i < c.len()).then(|| c.get(i))) else {
        return format!("opcode {i}");
    };
    let b = builtin_code(&code);
    if b == fb::BuiltinOperator::CUSTOM {
        return format!("CUSTOM({})", code.custom_code().unwrap_or("?"));
    }
    b.variant_name().map(str::to_string).unwrap_or_else(|| format!("builtin {}", b.0))
}

/// TFLite's `GetBuiltinCode`: the larger of the two code fields (schema 3a moved codes above
/// 127 to `builtin_code`, keeping `deprecated_builtin_code` for older readers).
pub(crate) fn builtin_code(code: &fb::OperatorCode<'_>) -> fb::BuiltinOperator {
    let deprecated = i32::from(code.deprecated_builtin_code());
    fb::BuiltinOperator(code.builtin_code().0.max(deprecated))
}
