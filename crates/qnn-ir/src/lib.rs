//! `qnn-ir`: the vocabulary of qnn.
//!
//! * [`DType`], [`QuantParams`], [`Tensor`] and [`TensorType`];
//! * the [`Graph`] of typed values and nodes, its [`GraphBuilder`] and verifier;
//! * the operators ([`Op`]): the QNN dialect and the core integer ops;
//! * type and shape inference ([`infer_type`]);
//! * memory [`limits`] checked before anything is allocated;
//! * the reference semantics of every op ([`reference`]) and fixed-point multipliers
//!   ([`fixed_point`]);
//! * the backend plugin contract ([`backend`]).

pub mod backend;
pub mod dtype;
pub mod error;
pub mod fixed_point;
pub mod graph;
pub mod infer;
pub mod int_slice;
pub mod limits;
pub mod ops;
pub mod quant;
pub mod reference;
pub mod tensor;
pub mod text;
mod verify;

pub use dtype::DType;
pub use error::IrError;
pub use graph::{Graph, GraphBuilder, Node, Value, ValueDef, ValueId};
pub use infer::infer_type;
pub use int_slice::IntSlice;
pub use ops::*;
pub use quant::QuantParams;
pub use tensor::{Element, Tensor, TensorType};
