//! Resource limits: how much memory one tensor, and all the values of a graph together, may
//! take. Models come from the internet; a shape like `[2^40, 2^40]` must be refused with an
//! error *before* anything is allocated, never end in an allocation failure (an abort) or an
//! overflowing size computation.
//!
//! The checks run where types enter: [`GraphBuilder`](crate::GraphBuilder) (every value it
//! adds), [`Graph::verify`](crate::Graph::verify) (every value and their sum, so also before
//! the reference interpreter allocates anything, and in [`text::parse`](crate::text::parse))
//! and, with their own options, the ONNX importer and the runtime's planner.
//!
//! A tensor's size counts the product of its dimensions with empty (0) dimensions taken as 1,
//! so that a shape like `[0, 2^40, 2^40]` — no elements, but dimensions whose products
//! overflow wherever they are multiplied — is refused too.
//!
//! ```
//! use qnn_ir::limits::Limits;
//! use qnn_ir::{DType, TensorType};
//!
//! let small = Limits { max_tensor_bytes: 1 << 20, ..Limits::default() };
//! assert!(small.check_type("x", &TensorType::new(DType::U8, [1, 3, 224, 224])).is_ok());
//! assert!(small.check_type("x", &TensorType::new(DType::I32, [1, 64, 112, 112])).is_err());
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::IrError;
use crate::tensor::TensorType;

/// Memory limits, in bytes. [`Limits::default`] is the process-wide default, which starts as
/// [`Limits::DEFAULT`] and can be changed with [`Limits::set_process_default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// The most one tensor may take: its element count (empty dimensions counted as 1) times
    /// its element size.
    pub max_tensor_bytes: u64,
    /// The most all the values of a graph (inputs, constants and every node output) may take
    /// together: what the reference interpreter holds at once at worst.
    pub max_graph_bytes: u64,
}

static TENSOR_BYTES: AtomicU64 = AtomicU64::new(Limits::DEFAULT.max_tensor_bytes);
static GRAPH_BYTES: AtomicU64 = AtomicU64::new(Limits::DEFAULT.max_graph_bytes);

impl Default for Limits {
    /// The process-wide default ([`Limits::DEFAULT`] unless changed).
    fn default() -> Self {
        Limits {
            max_tensor_bytes: TENSOR_BYTES.load(Ordering::Relaxed),
            max_graph_bytes: GRAPH_BYTES.load(Ordering::Relaxed),
        }
    }
}

impl Limits {
    /// 2 GiB per tensor, 16 GiB for a graph: far above any quantized conv network, far below
    /// the shapes a hostile or corrupt model can declare.
    pub const DEFAULT: Limits = Limits { max_tensor_bytes: 1 << 31, max_graph_bytes: 1 << 34 };

    /// No limit but the arithmetic: sizes must still fit 64 bits.
    pub const UNLIMITED: Limits = Limits { max_tensor_bytes: u64::MAX, max_graph_bytes: u64::MAX };

    /// These limits with another [`Limits::max_tensor_bytes`].
    pub const fn with_tensor_bytes(self, max_tensor_bytes: u64) -> Limits {
        Limits { max_tensor_bytes, ..self }
    }

    /// These limits with another [`Limits::max_graph_bytes`].
    pub const fn with_graph_bytes(self, max_graph_bytes: u64) -> Limits {
        Limits { max_graph_bytes, ..self }
    }

    /// Changes what [`Limits::default`] returns, for every later check in this process that
    /// is not given limits explicitly (`Graph::verify`, `GraphBuilder::new`, `text::parse`, the
    /// reference interpreter).
    pub fn set_process_default(limits: Limits) {
        TENSOR_BYTES.store(limits.max_tensor_bytes, Ordering::Relaxed);
        GRAPH_BYTES.store(limits.max_graph_bytes, Ordering::Relaxed);
    }

    /// Bytes of a tensor of type `ty` (empty dimensions counted as 1), or an error naming
    /// `what` when it exceeds [`Limits::max_tensor_bytes`] or overflows.
    pub fn check_type(&self, what: &str, ty: &TensorType) -> Result<u64, IrError> {
        self.check_type_of(|| what.to_string(), ty)
    }

    /// [`Limits::check_type`] with the name of what is checked made only for the error (a
    /// graph of 100k values would otherwise format 100k names per check).
    pub fn check_type_of(
        &self,
        what: impl FnOnce() -> String,
        ty: &TensorType,
    ) -> Result<u64, IrError> {
        let bytes = extent_bytes(&ty.shape, ty.dtype.size_bytes() as u64);
        match bytes {
            Some(b) if b <= self.max_tensor_bytes => Ok(b),
            _ => Err(IrError::LimitExceeded {
                what: format!("{} ({ty})", what()),
                bytes,
                limit: self.max_tensor_bytes,
            }),
        }
    }

    /// Checks every value (name, type) of graph `graph` and their total against the limits
    /// ([`Graph::verify_with`](crate::Graph::verify_with) passes the graph's values).
    pub fn check_values<'a>(
        &self,
        graph: &str,
        values: impl IntoIterator<Item = (&'a str, &'a TensorType)>,
    ) -> Result<(), IrError> {
        let mut total: u64 = 0;
        for (name, ty) in values {
            let b = self.check_type_of(|| format!("value `{name}`"), ty)?;
            total = total.saturating_add(b);
        }
        if total > self.max_graph_bytes {
            return Err(IrError::LimitExceeded {
                what: format!("the values of graph `{graph}` together"),
                bytes: Some(total),
                limit: self.max_graph_bytes,
            });
        }
        Ok(())
    }
}

/// `element_bytes · Π max(d, 1)`, `None` on overflow of 64 bits.
pub fn extent_bytes(shape: &[usize], element_bytes: u64) -> Option<u64> {
    shape.iter().try_fold(element_bytes, |acc, &d| acc.checked_mul(u64::try_from(d.max(1)).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DType;

    #[test]
    fn sizes_count_empty_dimensions_as_one() {
        assert_eq!(extent_bytes(&[2, 3], 4), Some(24));
        assert_eq!(extent_bytes(&[], 4), Some(4));
        assert_eq!(extent_bytes(&[0, 5], 1), Some(5));
        assert_eq!(extent_bytes(&[usize::MAX, 2], 1), None);
    }

    #[test]
    fn refusals_name_the_value_and_the_limit() {
        let l = Limits { max_tensor_bytes: 100, max_graph_bytes: 1000 };
        assert_eq!(l.check_type("x", &TensorType::new(DType::I32, [5, 5])), Ok(100));
        let e = l.check_type("x", &TensorType::new(DType::I32, [5, 6])).unwrap_err();
        assert_eq!(
            e,
            IrError::LimitExceeded { what: "x (i32[5,6])".into(), bytes: Some(120), limit: 100 }
        );
        assert!(e.to_string().contains("120 bytes exceed the limit of 100 bytes"), "{e}");
        let e = l.check_type("y", &TensorType::new(DType::U8, [0, usize::MAX, 3])).unwrap_err();
        assert!(matches!(e, IrError::LimitExceeded { bytes: None, .. }), "{e}");
        assert!(e.to_string().contains("more than 2^64"), "{e}");
    }
}
