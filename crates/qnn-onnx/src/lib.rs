//! `qnn-onnx`: ONNX models in, qnn-ir graphs in the QNN dialect out.
//!
//! * QOperator form: `QLinearConv`, `QLinearMatMul`, `ConvInteger`, `MatMulInteger`,
//!   `QuantizeLinear`, `DequantizeLinear` and ONNX Runtime's `com.microsoft` `QLinearAdd`,
//!   `QLinearMul`, `QLinearGlobalAveragePool`, `QLinearAveragePool`, `QLinearConcat`, `QGemm`,
//!   `QLinearLeakyRelu`, `QLinearSigmoid`;
//! * QDQ form: `DequantizeLinear → op → QuantizeLinear` groups folded as ONNX Runtime's
//!   default session folds them (see `import::qdq`);
//! * the float and data-movement ops around them, and import-time folding of shape
//!   arithmetic.
//!
//! Requantization uses qnn-ir's float mode, which is what ONNX Runtime computes on x86, so an
//! imported model run on [`qnn_ir::reference::run`] gives ORT's outputs bit for bit.
//!
//! ```no_run
//! use qnn_onnx::{ImportOptions, Model};
//! let model = Model::from_path("model.onnx")?;
//! for i in model.inputs()? {
//!     println!("input {i}");
//! }
//! let imported = model.import(&ImportOptions::default())?;
//! println!("{} qnn nodes", imported.graph.nodes.len());
//! # Ok::<(), qnn_onnx::OnnxError>(())
//! ```

mod attrs;
mod constant;
mod error;
mod import;
mod model;
mod onnx_type;
pub mod proto;
pub mod synth;

pub use constant::{ConstData, Constant};
pub use error::OnnxError;
pub use import::{Form, ImportOptions, Imported, NodeSummary};
pub use model::{Dim, IoInfo, Model, OPSET_RANGE};
pub use onnx_type::OnnxType;

/// Decodes a `TensorProto` (the `.pb` files of ONNX's backend tests) into a [`Constant`].
pub fn tensor_from_pb(bytes: &[u8]) -> Result<Constant, OnnxError> {
    let t = proto::decode_tensor(bytes).map_err(|e| OnnxError::Decode {
        what: "tensor (TensorProto)".into(),
        msg: e.to_string(),
    })?;
    Constant::from_proto(&t)
}
