//! The element-wise evaluator: runs a compiled
//! [`ElementwiseGroup`](crate::program::elementwise::ElementwiseGroup) (the program
//! builder's) over chunks of elements ([`eval`]), as one loop per element for the recognized
//! whole-group forms ([`fast`]), with AVX-512 where the CPU has it ([`fast_x86`]).

pub(crate) mod eval;
mod fast;
#[cfg(target_arch = "x86_64")]
pub(crate) mod fast_x86;

use qnn_ir::DType;

/// An integer result outside its dtype: which op, the value, the dtype.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Overflow {
    pub op: String,
    pub value: i64,
    pub dtype: DType,
}
