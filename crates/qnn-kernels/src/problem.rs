//! The problem the runtime hands the frame: a fused quantized conv2d or dense layer in NHWC.
//!
//! ```text
//! acc[n,y,x,k] = Σ_{c<Cg, r<kh, s<kw} (P[n, y·sh + r·dh, x·sw + s·dw, g(k)·Cg + c] − offset) · W[k,r,s,c]
//! ```
//!
//! with `P` the data padded with `pad_value` and `offset` the data offset (the int16
//! lowering's `subtract(a)`, fused into the packing; 0 for the int8 lowering, whose zero-point
//! terms the epilogue applies). Weights are OHWI: `out_c × kh × kw × Cg`, given as `i32`
//! values of the weight dtype. Dense `[rows, K] × [N, K]ᵀ` is the 1×1 case with `H = W = 1`.

pub use qnn_ir::backend::ConvGeometry;
use qnn_ir::{DType, IntSlice};

use crate::error::KernelError;

/// A conv2d/dense layer: geometry and operands.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConvProblem {
    /// Shapes and window.
    pub geometry: ConvGeometry,
    /// Element type of the input tensor: u8, i8 or i16.
    pub data: DType,
    /// Element type of the weights: u8, i8 or i16.
    pub weight: DType,
    /// Value of padded cells, in the data's own domain (the data zero point for the int8
    /// lowering; 0 for an int16 input that already had it subtracted).
    pub pad_value: i32,
    /// Subtracted from every data element (padding included) before the products: the
    /// int16 lowering's `subtract(a)` fused into the conversion to int16. Must be 0 when the
    /// kernel reads 8-bit data.
    pub data_offset: i32,
}

impl ConvProblem {
    /// The int8 lowering's conv: raw 8-bit operands, padded with the data zero point.
    pub fn int8(geometry: ConvGeometry, data: DType, weight: DType, data_zero_point: i32) -> Self {
        ConvProblem { geometry, data, weight, pad_value: data_zero_point, data_offset: 0 }
    }

    /// The int16 lowering's conv: `(data − a) · w16` with `w16` the zero-point-shifted int16
    /// weights, the subtraction fused into the conversion of the 8-bit data.
    pub fn int16(geometry: ConvGeometry, data: DType, data_zero_point: i32) -> Self {
        ConvProblem {
            geometry,
            data,
            weight: DType::I16,
            pad_value: data_zero_point,
            data_offset: data_zero_point,
        }
    }

    /// Checks geometry, dtypes and the pad value; returns the output (height, width).
    pub fn validate(&self) -> Result<[usize; 2], KernelError> {
        let hw = self.geometry.check().map_err(KernelError::Geometry)?;
        for (what, dtype) in [("data", self.data), ("weight", self.weight)] {
            if !matches!(dtype, DType::U8 | DType::I8 | DType::I16) {
                return Err(KernelError::DType { what, dtype, why: "operands are u8, i8 or i16" });
            }
        }
        if !self.data.contains(i64::from(self.pad_value)) {
            return Err(KernelError::ValueRange {
                what: "pad value",
                value: i64::from(self.pad_value),
                dtype: self.data,
            });
        }
        Ok(hw)
    }

    /// Range of the data values the products see: `[min − offset, max − offset]` of the
    /// data dtype (the pad value lies inside it).
    pub fn shifted_data_range(&self) -> (i64, i64) {
        let (lo, hi) = self.data.int_range().unwrap_or((0, 0));
        let off = i64::from(self.data_offset);
        (lo - off, hi - off)
    }
}

/// Checks that OHWI weights have the right length and fit their dtype.
pub(crate) fn check_weights(
    problem: &ConvProblem,
    weights: IntSlice<'_>,
) -> Result<(), KernelError> {
    let expected = problem.geometry.weight_len();
    if weights.len() != expected {
        return Err(KernelError::Length { what: "weights (OHWI)", expected, got: weights.len() });
    }
    if let Some(w) = weights.first_outside(problem.weight) {
        return Err(KernelError::ValueRange {
            what: "weight",
            value: i64::from(w),
            dtype: problem.weight,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_of_the_suite_layers() {
        let stem = ConvGeometry {
            batch: 1,
            in_h: 224,
            in_w: 224,
            in_c: 3,
            out_c: 64,
            kernel: [7, 7],
            strides: [2, 2],
            padding: [3, 3, 3, 3],
            dilation: [1, 1],
            groups: 1,
        };
        assert_eq!(stem.check().unwrap(), [112, 112]);
        assert_eq!(stem.macs(), 118_013_952);
        let dense = ConvGeometry::dense(1, 1280, 1000);
        assert_eq!(dense.check().unwrap(), [1, 1]);
        assert_eq!(dense.macs(), 1_280_000);
    }

    #[test]
    fn bad_geometry_is_an_error() {
        let mut g = ConvGeometry::dense(1, 6, 4);
        g.groups = 4;
        assert!(matches!(g.check(), Err(m) if m.contains("groups 4")));
        let mut g = ConvGeometry::dense(1, 6, 4);
        g.kernel = [3, 3];
        assert!(g.check().is_err());
        let mut g = ConvGeometry::dense(1, 6, 4);
        g.strides = [0, 1];
        assert!(matches!(g.check(), Err(m) if m.contains("stride")));
    }

    #[test]
    fn pad_value_must_fit_the_data() {
        let p = ConvProblem::int8(ConvGeometry::dense(1, 4, 4), DType::U8, DType::I8, 256);
        assert!(matches!(p.validate(), Err(KernelError::ValueRange { value: 256, .. })));
        let p = ConvProblem::int8(ConvGeometry::dense(1, 4, 4), DType::F32, DType::I8, 0);
        assert!(matches!(p.validate(), Err(KernelError::DType { what: "data", .. })));
    }
}
