//! The explanation of a legalization: per conv/dense, the lowering chosen, on which backend,
//! with which int8 dot product, why, the estimates compared and the range-analysis facts;
//! and what every other QNN op became. Printable as a table ([`Display`](std::fmt::Display))
//! and as JSON ([`Explanation::to_json`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decide::PlanRange;
use crate::lowering::Lowering;
use crate::policy::Estimate;
use crate::range::{Int16Range, PairSumFact};
use crate::signature::OpSignature;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub graph: String,
    pub target: String,
    pub backends: Vec<String>,
    pub policy: String,
    /// One per `qnn.conv2d` / `qnn.dense`, in graph order.
    pub ops: Vec<OpReport>,
    /// The other QNN ops and the core ops each became.
    pub other_ops: Vec<LoweredOp>,
}

/// The decision for one conv/dense.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpReport {
    pub node: String,
    pub op: String,
    pub signature: OpSignature,
    pub lowering: Lowering,
    pub backend: String,
    /// The int8 dot product the operands were legalized to (`u8×s8`, …), if any.
    pub int8_dot: Option<String>,
    /// Dtypes (data, weight) at the core conv/dense.
    pub operands: [String; 2],
    pub data_shift: i64,
    pub weight_shift: i64,
    /// Whether the T3 window-sum term was emitted.
    pub t3: bool,
    /// Whether a following bias add was folded in.
    pub bias_folded: bool,
    pub reason: String,
    pub macs: u64,
    pub weight_bytes_int8: u64,
    pub weight_bytes_int16: u64,
    pub estimates: Vec<Estimate>,
    /// Candidates range analysis could not prove safe, with why.
    pub rejected: Vec<RejectedReport>,
    pub range: RangeFacts,
    /// The core ops emitted, in order.
    pub emitted: Vec<String>,
}

/// A candidate ruled out by range analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedReport {
    pub candidate: String,
    pub reason: String,
}

/// What range analysis proved about the op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeFacts {
    /// The int8-terms lowering under each operand plan considered.
    pub int8_terms: Vec<PlanRange>,
    pub int16: Int16Range,
    /// 16-bit pair-sum kernels (`vpmaddubsw`, `smull+smlal`, `umull+umlal`): safe or not for
    /// these weights, per operand pair.
    pub pair_sums: Vec<PairSumFact>,
}

/// A QNN op other than conv/dense and what it became.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoweredOp {
    pub node: String,
    pub op: String,
    pub emitted: Vec<String>,
}

impl Explanation {
    /// Pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("explanations serialize")
    }

    /// Parses JSON written by [`to_json`](Self::to_json).
    pub fn from_json(s: &str) -> Result<Explanation, serde_json::Error> {
        serde_json::from_str(s)
    }

    /// The report of the conv/dense named `node`.
    pub fn op(&self, node: &str) -> Option<&OpReport> {
        self.ops.iter().find(|o| o.node == node)
    }
}

fn human(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "graph `{}` on {} (backends: {}), policy {}",
            self.graph,
            self.target,
            if self.backends.is_empty() { "none".into() } else { self.backends.join(", ") },
            self.policy
        )?;
        let header =
            ["node", "op", "lowering", "backend", "int8 dot", "operands", "MACs", "weights i8/i16"];
        let rows: Vec<[String; 8]> = self
            .ops
            .iter()
            .map(|o| {
                [
                    o.node.clone(),
                    o.op.clone(),
                    o.lowering.to_string(),
                    o.backend.clone(),
                    o.int8_dot.clone().unwrap_or_else(|| "-".into()),
                    format!("{}×{}", o.operands[0], o.operands[1]),
                    human(o.macs),
                    format!("{} B / {} B", o.weight_bytes_int8, o.weight_bytes_int16),
                ]
            })
            .collect();
        let mut width = header.map(|h| h.chars().count());
        for r in &rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            let s: Vec<String> = cells
                .iter()
                .zip(width)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
                .collect();
            writeln!(f, "{}", s.join("  ").trim_end())
        };
        line(f, &header.map(String::from))?;
        for r in &rows {
            line(f, r)?;
        }
        for o in &self.ops {
            writeln!(f)?;
            writeln!(f, "{} ({}): {}", o.node, o.lowering, o.reason)?;
            for e in &o.estimates {
                let cy = e.cycles.map_or("-".into(), |c| format!("{c:.0} cycles"));
                let measured = e
                    .measured_ns
                    .map_or(String::new(), |ns| format!(", measured {:.1} µs", ns / 1e3));
                writeln!(
                    f,
                    "  estimate {} {}: {cy}{measured} ({})",
                    e.backend, e.lowering, e.note
                )?;
            }
            for r in &o.rejected {
                writeln!(f, "  rejected {}: {}", r.candidate, r.reason)?;
            }
            for p in &o.range.int8_terms {
                let r = &p.range;
                let t3 = r.t3.map_or("none".into(), |t| t.to_string());
                let verdict = r.overflow.clone().unwrap_or_else(|| "fits i32".into());
                writeln!(
                    f,
                    "  range int8 {}: T1 {} const {} T1+const {} T3 {t3} result {}: {verdict}",
                    p.operands, r.t1, r.constant, r.t1_plus_constant, r.result
                )?;
            }
            let r = &o.range.int16;
            let verdict = r.overflow.clone().unwrap_or_else(|| "fits i32".into());
            writeln!(f, "  range int16: data {} accumulator {}: {verdict}", r.data, r.accumulator)?;
            for p in &o.range.pair_sums {
                writeln!(
                    f,
                    "  16-bit pairs {} ({} on overflow): sums {} in {}: {}",
                    p.instruction,
                    p.on_overflow,
                    p.pair_sums,
                    p.limit,
                    if p.safe { "safe" } else { "NOT safe" }
                )?;
            }
            writeln!(f, "  emitted: {}", o.emitted.join(" → "))?;
        }
        if !self.other_ops.is_empty() {
            writeln!(f)?;
            for o in &self.other_ops {
                writeln!(f, "{} ({}): {}", o.node, o.op, o.emitted.join(" → "))?;
            }
        }
        Ok(())
    }
}
