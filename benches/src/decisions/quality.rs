//! Decision quality: per policy and scope, the share of (layer, scope) pairs where the pick
//! was the fastest (strictly, and within the noise), and the suite's time under the policy
//! against the per-layer best.

use serde::{Deserialize, Serialize};

use super::layers::LayerResult;

/// One policy over one scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub policy: String,
    /// A backend, `host`, or `all` (every decided pair).
    pub scope: String,
    /// Pairs with a choice (two or more timed candidates).
    pub pairs: usize,
    pub fastest: usize,
    pub within_noise: usize,
    /// Σ time of the picks / Σ time of the fastest, over the pairs (1.0 = always the best).
    pub time_vs_best: f64,
}

impl Quality {
    pub fn share(n: usize, of: usize) -> f64 {
        if of == 0 { 0.0 } else { n as f64 / of as f64 }
    }
}

/// Quality rows: for each policy, one per scope that had decided pairs, then `all`.
pub fn quality(layers: &[LayerResult], policies: &[String]) -> Vec<Quality> {
    let mut scopes: Vec<String> = Vec::new();
    for l in layers {
        for p in &l.pairs {
            if p.decided() && !scopes.contains(&p.scope) {
                scopes.push(p.scope.clone());
            }
        }
    }
    let mut out = Vec::new();
    for policy in policies {
        let mut rows: Vec<Quality> = scopes
            .iter()
            .map(|s| Quality {
                policy: policy.clone(),
                scope: s.clone(),
                pairs: 0,
                fastest: 0,
                within_noise: 0,
                time_vs_best: 0.0,
            })
            .chain(std::iter::once(Quality {
                policy: policy.clone(),
                scope: "all".into(),
                pairs: 0,
                fastest: 0,
                within_noise: 0,
                time_vs_best: 0.0,
            }))
            .collect();
        let mut sums = vec![(0.0f64, 0.0f64); rows.len()];
        let all = rows.len() - 1;
        for l in layers {
            for pair in l.pairs.iter().filter(|p| p.decided()) {
                let Some(pick) = pair.picks.iter().find(|p| &p.policy == policy) else { continue };
                let Some(best) = pair.best_ns() else { continue };
                // A pick without a timing counts as wrong, and at the slowest candidate's time.
                let worst = pair.times.iter().map(|t| t.sample.median_ns).fold(best, f64::max);
                let t = pick.time_ns.unwrap_or(worst);
                let i = scopes.iter().position(|s| *s == pair.scope).unwrap_or(all);
                for j in [i, all] {
                    rows[j].pairs += 1;
                    rows[j].fastest += usize::from(pick.verdict.strict());
                    rows[j].within_noise += usize::from(pick.verdict.within_noise());
                    sums[j].0 += t;
                    sums[j].1 += best;
                }
            }
        }
        for (r, (t, b)) in rows.iter_mut().zip(sums) {
            r.time_vs_best = if b > 0.0 { t / b } else { 1.0 };
        }
        out.extend(rows);
    }
    out
}
