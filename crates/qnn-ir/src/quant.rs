//! Quantization parameters: `real = scale · (q − zero_point)`, per tensor or per axis.

use crate::dtype::DType;
use crate::error::IrError;

/// Scale and zero point of a quantized tensor.
///
/// Per tensor: one scale, one zero point, `axis == None`. Per axis: `axis == Some(a)` and the
/// scales and zero points have one entry per element of dimension `a` (a single entry
/// broadcasts, so symmetric per-channel weights can keep one zero point).
#[derive(Debug, Clone, PartialEq)]
pub struct QuantParams {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i32>,
    pub axis: Option<usize>,
}

impl QuantParams {
    pub fn per_tensor(scale: f32, zero_point: i32) -> Self {
        QuantParams { scale: vec![scale], zero_point: vec![zero_point], axis: None }
    }

    pub fn per_axis(scale: Vec<f32>, zero_point: Vec<i32>, axis: usize) -> Self {
        QuantParams { scale, zero_point, axis: Some(axis) }
    }

    /// True when one scale and one zero point cover the whole tensor.
    pub fn is_per_tensor(&self) -> bool {
        self.axis.is_none() || (self.scale.len() == 1 && self.zero_point.len() == 1)
    }

    /// Number of channels the parameters distinguish (1 when per tensor).
    pub fn channels(&self) -> usize {
        self.scale.len().max(self.zero_point.len())
    }

    /// Scale of channel `k` (broadcasting a single scale).
    pub fn scale_at(&self, k: usize) -> f32 {
        if self.scale.len() == 1 { self.scale[0] } else { self.scale[k] }
    }

    /// Zero point of channel `k` (broadcasting a single zero point).
    pub fn zero_point_at(&self, k: usize) -> i32 {
        if self.zero_point.len() == 1 { self.zero_point[0] } else { self.zero_point[k] }
    }

    /// True when every zero point is 0 (symmetric quantization).
    pub fn is_symmetric(&self) -> bool {
        self.zero_point.iter().all(|&z| z == 0)
    }

    /// Checks scales (finite, > 0), zero points (inside `dtype`), and, when `shape` is known,
    /// the axis (inside the rank) and the lengths (matching the axis' dimension).
    /// `op` names the operator and `what` the operand, for the error message.
    pub fn validate(
        &self,
        op: &str,
        what: &str,
        dtype: DType,
        shape: Option<&[usize]>,
    ) -> Result<(), IrError> {
        if self.scale.is_empty() || self.zero_point.is_empty() {
            return Err(IrError::QuantLength {
                op: op.into(),
                what: what.into(),
                scales: self.scale.len(),
                zero_points: self.zero_point.len(),
                expected: 1,
            });
        }
        for &s in &self.scale {
            if !(s.is_finite() && s > 0.0) {
                return Err(IrError::BadScale { op: op.into(), what: what.into(), value: s });
            }
        }
        for &z in &self.zero_point {
            if !dtype.contains(z as i64) {
                return Err(IrError::ZeroPointOutOfRange {
                    op: op.into(),
                    what: what.into(),
                    value: z as i64,
                    dtype,
                });
            }
        }
        let expected = match (self.axis, shape) {
            (None, _) => 1,
            (Some(axis), Some(shape)) => {
                if axis >= shape.len() {
                    return Err(IrError::QuantAxis {
                        op: op.into(),
                        what: what.into(),
                        axis,
                        rank: shape.len(),
                    });
                }
                shape[axis]
            }
            (Some(_), None) => self.channels(),
        };
        let ok = |n: usize| n == 1 || n == expected;
        if !ok(self.scale.len()) || !ok(self.zero_point.len()) {
            return Err(IrError::QuantLength {
                op: op.into(),
                what: what.into(),
                scales: self.scale.len(),
                zero_points: self.zero_point.len(),
                expected,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_violation_is_its_own_error() {
        let op = "qnn.conv2d";
        let bad_scale = QuantParams::per_tensor(0.0, 0).validate(op, "input", DType::U8, None);
        assert!(matches!(bad_scale, Err(IrError::BadScale { value, .. }) if value == 0.0));
        let nan = QuantParams::per_tensor(f32::NAN, 0).validate(op, "input", DType::U8, None);
        assert!(matches!(nan, Err(IrError::BadScale { .. })));
        let neg = QuantParams::per_tensor(-1.0, 0).validate(op, "input", DType::U8, None);
        assert!(matches!(neg, Err(IrError::BadScale { .. })));
        let zp = QuantParams::per_tensor(1.0, 128).validate(op, "kernel", DType::I8, None);
        assert!(matches!(zp, Err(IrError::ZeroPointOutOfRange { value: 128, .. })));
        let axis = QuantParams::per_axis(vec![1.0; 4], vec![0], 4).validate(
            op,
            "kernel",
            DType::I8,
            Some(&[4, 3, 3, 3]),
        );
        assert!(matches!(axis, Err(IrError::QuantAxis { axis: 4, rank: 4, .. })));
        let len = QuantParams::per_axis(vec![1.0; 3], vec![0], 0).validate(
            op,
            "kernel",
            DType::I8,
            Some(&[4, 3, 3, 3]),
        );
        assert!(matches!(len, Err(IrError::QuantLength { scales: 3, expected: 4, .. })));
        let msg = zp.unwrap_err().to_string();
        assert!(msg.contains("qnn.conv2d") && msg.contains("128"), "{msg}");
    }

    #[test]
    fn broadcast_accessors() {
        let q = QuantParams::per_axis(vec![0.5, 0.25], vec![3], 0);
        assert_eq!(q.zero_point_at(1), 3);
        assert_eq!(q.scale_at(1), 0.25);
        assert_eq!(q.channels(), 2);
        assert!(!q.is_per_tensor());
    }
}
