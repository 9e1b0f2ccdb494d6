//! TVM's rule: a fast int8 dot product on the target → int8 terms, else int16.

use super::{Decision, DecisionContext, LoweringPolicy, nothing_safe};
use crate::lowering::Lowering;

/// A fast int8 dot product → [`Lowering::Int8ZeroPointTerms`] on the highest-priority
/// backend that has one; else [`Lowering::Int16Upcast`] on the highest-priority backend with
/// a 16-bit multiply-accumulate. When range analysis rules out the preferred lowering, the
/// other one is taken and the reason says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct Capability;

impl LoweringPolicy for Capability {
    fn name(&self) -> String {
        "capability".into()
    }

    fn decide(&self, ctx: &DecisionContext<'_>) -> Result<Decision, String> {
        let cs = ctx.candidates;
        let done =
            |choice: usize, reason: String| Ok(Decision { choice, reason, estimates: vec![] });
        if let Some(i) = cs
            .iter()
            .position(|c| c.lowering == Lowering::Int8ZeroPointTerms && c.int8_dot.is_some())
        {
            let c = &cs[i];
            let dot = c.int8_dot.map_or("", |d| d.as_str());
            return done(
                i,
                format!("{} has a fast {dot} int8 dot product → int8 terms", c.backend.name),
            );
        }
        let unsafe_int8 = ctx.rejected.iter().find(|r| {
            r.candidate.lowering == Lowering::Int8ZeroPointTerms && r.candidate.int8_dot.is_some()
        });
        let why = match unsafe_int8 {
            Some(r) => format!(
                "int8 terms on {} are not provably safe ({})",
                r.candidate.backend.name, r.reason
            ),
            None => "no backend of the target has an int8 dot product".into(),
        };
        let int16 = |need_mac: bool| {
            cs.iter().position(|c| {
                c.lowering == Lowering::Int16Upcast
                    && (!need_mac || c.backend.capabilities.int16_mac)
            })
        };
        if let Some(i) = int16(true).or_else(|| int16(false)) {
            return done(i, format!("{why} → int16 upcast on {}", cs[i].backend.name));
        }
        if !cs.is_empty() {
            return done(0, format!("{why}; only {} is safe", cs[0].describe()));
        }
        Err(nothing_safe(ctx))
    }
}
