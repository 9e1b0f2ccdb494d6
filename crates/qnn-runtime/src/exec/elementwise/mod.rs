//! The element-wise evaluator: runs a compiled
//! [`ElementwiseGroup`](crate::program::elementwise::ElementwiseGroup) (the program
//! builder's) over chunks of elements ([`eval`]), as one loop per element for the recognized
//! whole-group forms ([`fast`]). Portable code: the SIMD forms of these ops are the backends'
//! element-wise kernels.

pub(crate) mod eval;
mod fast;

use qnn_ir::DType;

/// An integer result outside its dtype: which op, the value, the dtype.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Overflow {
    pub op: String,
    pub value: i64,
    pub dtype: DType,
}
