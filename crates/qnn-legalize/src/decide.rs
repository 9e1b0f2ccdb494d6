//! Candidates for one conv/dense on a target: per backend, the int8-terms lowering with the
//! best provably safe operand plan for its dot product, and the int16 lowering, each checked
//! by range analysis.

use qnn_ir::DType;
use qnn_ir::backend::KernelClass;
use serde::{Deserialize, Serialize};

use crate::analysis::QConv;
use crate::dtype::{OperandPlan, ranked_plans};
use crate::fold::{Int8Fold, Int16Fold};
use crate::lowering::Lowering;
use crate::policy::{Candidate, Rejected};
use crate::range::{self, Int8TermsRange, Int16Range, PairSumFact};
use crate::signature::OpSignature;
use crate::target::Target;

/// Range analysis of the int8-terms lowering under one operand plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRange {
    /// `u8×i8`, …
    pub operands: String,
    /// The dot product the plan is for (`None`: operands as given).
    pub dot: Option<String>,
    pub data_shift: i64,
    pub weight_shift: i64,
    pub range: Int8TermsRange,
}

/// What the legalizer knows about one op before the policy decides.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub signature: OpSignature,
    pub candidates: Vec<Candidate>,
    /// For each candidate, its index in `folds` (int8) or `None` (int16).
    pub fold_of: Vec<Option<usize>>,
    pub rejected: Vec<Rejected>,
    pub folds: Vec<(Int8Fold, Int8TermsRange)>,
    pub fold16: Int16Fold,
    pub int16_range: Int16Range,
}

impl Analysis {
    pub fn new(q: &QConv, target: &Target) -> Analysis {
        let signature = OpSignature::of(q);
        let fold16 = Int16Fold::new(q);
        let int16_range = range::int16(q, &fold16);
        let weights = signature.weight_count();
        let depthwise = q.is_depthwise();
        let mut a = Analysis {
            signature,
            candidates: Vec::new(),
            fold_of: Vec::new(),
            rejected: Vec::new(),
            folds: Vec::new(),
            fold16,
            int16_range,
        };
        for &backend in target.backends() {
            let dots = backend.capabilities.int8_dot;
            let plans = ranked_plans(q.data_dtype, q.weight_dtype, &q.wzp, dots);
            let mut first_rejection = None;
            let mut chosen = None;
            for plan in plans {
                let i = a.fold_index(q, plan);
                match &a.folds[i].1.overflow {
                    None => {
                        chosen = Some(i);
                        break;
                    }
                    Some(why) => {
                        first_rejection.get_or_insert((i, why.clone()));
                    }
                }
            }
            let int8 = |i: usize, a: &Analysis| {
                let f = &a.folds[i].0;
                Candidate {
                    lowering: Lowering::Int8ZeroPointTerms,
                    backend,
                    int8_dot: f.plan.dot,
                    operands: (f.plan.data_dtype, f.plan.weight_dtype),
                    class: if depthwise {
                        KernelClass::Int8Depthwise
                    } else {
                        KernelClass::Int8Gemm
                    },
                    data_shift: f.plan.data_shift,
                    weight_shift: f.plan.weight_shift,
                    needs_t3: f.needs_t3(),
                    weight_bytes: weights,
                }
            };
            match (chosen, first_rejection) {
                (Some(i), _) => {
                    a.candidates.push(int8(i, &a));
                    a.fold_of.push(Some(i));
                }
                (None, Some((i, why))) => {
                    a.rejected.push(Rejected { candidate: int8(i, &a), reason: why });
                }
                (None, None) => {}
            }
            let int16 = Candidate {
                lowering: Lowering::Int16Upcast,
                backend,
                int8_dot: None,
                operands: (DType::I16, DType::I16),
                class: if depthwise { KernelClass::Int16Depthwise } else { KernelClass::Int16Gemm },
                data_shift: 0,
                weight_shift: 0,
                needs_t3: false,
                weight_bytes: 2 * weights,
            };
            match &a.int16_range.overflow {
                None => {
                    a.candidates.push(int16);
                    a.fold_of.push(None);
                }
                Some(why) => a.rejected.push(Rejected { candidate: int16, reason: why.clone() }),
            }
        }
        a
    }

    /// Index of the fold of `plan` in `folds`, computing it on first use.
    fn fold_index(&mut self, q: &QConv, plan: OperandPlan) -> usize {
        if let Some(i) = self.folds.iter().position(|(f, _)| f.plan == plan) {
            return i;
        }
        let f = Int8Fold::new(q, plan);
        let r = range::int8_terms(q, &f);
        self.folds.push((f, r));
        self.folds.len() - 1
    }

    /// Every int8 operand plan analysed, with its ranges.
    /// Plans that differ only in the dot product they are for (same dtypes and shifts) have
    /// the same ranges and are reported once.
    pub fn plan_ranges(&self) -> Vec<PlanRange> {
        let key = |f: &Int8Fold| {
            (f.plan.data_dtype, f.plan.data_shift, f.plan.weight_dtype, f.plan.weight_shift)
        };
        self.folds
            .iter()
            .enumerate()
            .filter(|(i, (f, _))| !self.folds[..*i].iter().any(|(g, _)| key(g) == key(f)))
            .map(|(_, (f, r))| PlanRange {
                operands: format!("{}×{}", f.plan.data_dtype, f.plan.weight_dtype),
                dot: f.plan.dot.map(|d| d.as_str().to_string()),
                data_shift: f.plan.data_shift,
                weight_shift: f.plan.weight_shift,
                range: r.clone(),
            })
            .collect()
    }

    /// The 16-bit pair-sum facts of every distinct int8 operand pair analysed (and of the
    /// op's own operands).
    pub fn pair_facts(&self, q: &QConv) -> Vec<PairSumFact> {
        let mut seen: Vec<(DType, DType)> = Vec::new();
        let mut out = Vec::new();
        let own = std::iter::once((q.data_dtype, q.weight_dtype, 0));
        let planned = self
            .folds
            .iter()
            .map(|(f, _)| (f.plan.data_dtype, f.plan.weight_dtype, f.plan.weight_shift));
        for (d, w, shift) in own.chain(planned) {
            if seen.contains(&(d, w)) {
                continue;
            }
            seen.push((d, w));
            out.extend(range::pair_sum_fact(d, w, q.rows(), shift));
        }
        out
    }
}
