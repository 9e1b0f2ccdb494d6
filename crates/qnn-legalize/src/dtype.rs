//! Dtype legalization: make the 8-bit operands of a conv/dense match the signedness of the
//! backend's int8 dot product (ARCHITECTURE.md §4).
//!
//! Only differences `value − zero point` enter the result, so shifting a tensor and its zero
//! point by the same amount is exact: s8 → u8 is `A' = A + 128, a' = a + 128`, u8 → s8 is
//! `W' = W − 128, w' = w − 128` (per channel too). Data is shifted at run time by
//! `cast → add → cast`; weights are constants and are shifted here, at legalization time.

use qnn_ir::DType;
use qnn_ir::backend::Int8Dot;

/// The operand dtypes an int8 dot product wants: (data, weight).
pub const fn dot_operands(dot: Int8Dot) -> (DType, DType) {
    match dot {
        Int8Dot::U8S8 => (DType::U8, DType::I8),
        Int8Dot::S8S8 => (DType::I8, DType::I8),
        Int8Dot::U8U8 => (DType::U8, DType::U8),
    }
}

/// The shift that moves 8-bit values of `from` onto `to` (0, +128 or −128).
pub const fn shift_between(from: DType, to: DType) -> i64 {
    match (from, to) {
        (DType::I8, DType::U8) => 128,
        (DType::U8, DType::I8) => -128,
        _ => 0,
    }
}

/// How the int8-terms lowering presents the operands to one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperandPlan {
    /// The dot product used, or `None` when the backend has none (operands keep their dtypes).
    pub dot: Option<Int8Dot>,
    pub data_dtype: DType,
    /// Added to the data and its zero point.
    pub data_shift: i64,
    pub weight_dtype: DType,
    /// Added to the weights and their zero points.
    pub weight_shift: i64,
}

impl OperandPlan {
    /// The plan for operands of dtypes (`data`, `weight`) on a dot product `dot`.
    pub fn new(data: DType, weight: DType, dot: Option<Int8Dot>) -> OperandPlan {
        let (d, w) = dot.map_or((data, weight), dot_operands);
        OperandPlan {
            dot,
            data_dtype: d,
            data_shift: shift_between(data, d),
            weight_dtype: w,
            weight_shift: shift_between(weight, w),
        }
    }

    /// True when the weight shift makes a zero point nonzero where all were zero, i.e. adds
    /// the run-time T3 pass to an op that had none.
    pub fn introduces_t3(&self, weight_zero_points: &[i64]) -> bool {
        self.weight_shift != 0 && weight_zero_points.iter().all(|&w| w == 0)
    }

    /// Preference key (lower is better): no new T3 pass first (a data-dependent pass per
    /// output), then no run-time data shift (one cheap elementwise pass).
    pub fn preference(&self, weight_zero_points: &[i64]) -> (bool, bool) {
        (self.introduces_t3(weight_zero_points), self.data_shift != 0)
    }
}

/// The plans a backend with dot products `dots` offers, best first (see
/// [`OperandPlan::preference`]; ties keep the descriptor's order). A backend without an
/// int8 dot product offers the plan that keeps the operands as they are.
pub fn ranked_plans(
    data: DType,
    weight: DType,
    weight_zero_points: &[i64],
    dots: &[Int8Dot],
) -> Vec<OperandPlan> {
    if dots.is_empty() {
        return vec![OperandPlan::new(data, weight, None)];
    }
    let mut plans: Vec<OperandPlan> =
        dots.iter().map(|&d| OperandPlan::new(data, weight, Some(d))).collect();
    plans.sort_by_key(|p| p.preference(weight_zero_points));
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_follow_the_dot_product() {
        let p = OperandPlan::new(DType::I8, DType::U8, Some(Int8Dot::U8S8));
        assert_eq!(
            (p.data_dtype, p.data_shift, p.weight_dtype, p.weight_shift),
            (DType::U8, 128, DType::I8, -128)
        );
        let p = OperandPlan::new(DType::U8, DType::I8, None);
        assert_eq!((p.data_shift, p.weight_shift), (0, 0));
    }

    #[test]
    fn ranking_avoids_new_t3_then_data_shifts() {
        // u8 data, symmetric s8 weights on sdot+udot: shifting the data (s8×s8) keeps w = 0;
        // udot would make w' = 128 and add T3.
        let plans = ranked_plans(DType::U8, DType::I8, &[0], &[Int8Dot::U8U8, Int8Dot::S8S8]);
        assert_eq!(plans[0].dot, Some(Int8Dot::S8S8));
        // u8 data and u8 weights: udot needs no shift at all.
        let plans = ranked_plans(DType::U8, DType::U8, &[3], &[Int8Dot::S8S8, Int8Dot::U8U8]);
        assert_eq!(plans[0].dot, Some(Int8Dot::U8U8));
    }
}
