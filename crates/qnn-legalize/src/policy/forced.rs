//! Forcing a lowering, globally or per node, on top of another policy.

use std::collections::BTreeMap;

use super::{Candidate, Decision, DecisionContext, LoweringPolicy};
use crate::lowering::Lowering;

/// Forces [`Lowering`]s and lets `inner` choose the backend among the candidates of the forced
/// lowering (and decide the ops that are not forced). A forced lowering that range analysis
/// rejected is refused with the reason: it is never emitted unproven.
#[derive(Debug)]
pub struct Forced {
    inner: Box<dyn LoweringPolicy>,
    all: Option<Lowering>,
    per_op: BTreeMap<String, Lowering>,
}

impl Forced {
    pub fn new(inner: impl LoweringPolicy + 'static) -> Forced {
        Forced { inner: Box::new(inner), all: None, per_op: BTreeMap::new() }
    }

    /// Forces `lowering` for every op without a per-op setting.
    pub fn all(mut self, lowering: Lowering) -> Forced {
        self.all = Some(lowering);
        self
    }

    /// Forces `lowering` for the node named `node`.
    pub fn op(mut self, node: impl Into<String>, lowering: Lowering) -> Forced {
        self.per_op.insert(node.into(), lowering);
        self
    }

    fn forced_for(&self, node: &str) -> Option<Lowering> {
        self.per_op.get(node).copied().or(self.all)
    }
}

impl LoweringPolicy for Forced {
    fn name(&self) -> String {
        let mut s = format!("forced({}", self.inner.name());
        if let Some(l) = self.all {
            s += &format!(", all={l}");
        }
        for (n, l) in &self.per_op {
            s += &format!(", {n}={l}");
        }
        s + ")"
    }

    fn decide(&self, ctx: &DecisionContext<'_>) -> Result<Decision, String> {
        let Some(forced) = self.forced_for(&ctx.signature.node) else {
            return self.inner.decide(ctx);
        };
        let (idx, subset): (Vec<usize>, Vec<Candidate>) = ctx
            .candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.lowering == forced)
            .map(|(i, c)| (i, c.clone()))
            .unzip();
        if subset.is_empty() {
            let why: Vec<String> = ctx
                .rejected
                .iter()
                .filter(|r| r.candidate.lowering == forced)
                .map(|r| format!("{}: {}", r.candidate.describe(), r.reason))
                .collect();
            return Err(format!("forced {forced} is not provably safe: {}", why.join("; ")));
        }
        let sub = DecisionContext { candidates: &subset, ..*ctx };
        let d = self.inner.decide(&sub)?;
        Ok(Decision {
            choice: idx[d.choice],
            reason: format!("{forced} forced; {}", d.reason),
            estimates: d.estimates,
        })
    }
}
