//! The results as a text table (stdout), as Markdown, and the shared cell formats.

use std::fmt::Write as _;

use qnn_legalize::Lowering;

use super::BenchReport;
use super::layers::{Pair, Pick, TIE, Verdict};
use super::quality::Quality;

pub fn ms(ns: f64) -> String {
    let ms = ns / 1e6;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.3} ms")
    }
}

fn gmacs(macs: u64, ns: f64) -> String {
    format!("{:.0} GMAC/s", macs as f64 / ns)
}

fn short(l: Lowering) -> &'static str {
    match l {
        Lowering::Int8ZeroPointTerms => "int8",
        Lowering::Int16Upcast => "int16",
    }
}

/// `✓` fastest, `≈` within the noise, `✗ +12 %` slower, `?` no timing.
pub fn mark(v: Verdict) -> String {
    match v {
        Verdict::Fastest => "✓".into(),
        Verdict::Tie => "≈".into(),
        Verdict::Slower(f) => format!("✗ +{:.0} %", 100.0 * f),
        Verdict::Unmeasured => "?".into(),
    }
}

fn pick_cell(pair: &Pair, p: &Pick) -> String {
    let what = if pair.scope == "host" {
        format!("{} {}", p.backend, short(p.lowering))
    } else {
        short(p.lowering).to_string()
    };
    if pair.decided() { format!("{what} {}", mark(p.verdict)) } else { what }
}

/// The time of `l` in `pair`; on another backend's kernel: `→ portable 30.0 ms`.
fn time_cell(pair: &Pair, macs: u64, l: Lowering) -> String {
    match pair.times.iter().find(|t| t.lowering == l && t.backend == pair.scope) {
        Some(t) if t.own() => {
            format!("{} {}", ms(t.sample.median_ns), gmacs(macs, t.sample.median_ns))
        }
        Some(t) => format!("no kernel (→ {} {})", t.ran_on, ms(t.sample.median_ns)),
        None => String::new(),
    }
}

/// int16 time ÷ int8 time on the pair's own kernels (> 1: int8 is faster); for `host`, the
/// best int16 candidate against the best int8 one.
pub fn speedup(pair: &Pair) -> Option<f64> {
    let best = |l: Lowering| {
        pair.times
            .iter()
            .filter(|t| t.lowering == l && t.own())
            .map(|t| t.sample.median_ns)
            .min_by(f64::total_cmp)
    };
    Some(best(Lowering::Int16Upcast)? / best(Lowering::Int8ZeroPointTerms)?)
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())))
}

/// Rows of cells printed with aligned columns.
fn aligned(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let w: Vec<usize> = (0..cols)
        .map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r.iter().enumerate().map(|(i, c)| pad(c, w[i])).collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

/// The per-layer table.
pub fn layer_table(r: &BenchReport) -> String {
    let mut rows = vec![
        ["layer", "backend", "int8-terms", "int16-upcast", "int8 ×"]
            .iter()
            .map(|s| s.to_string())
            .chain(r.policies.iter().cloned())
            .collect::<Vec<_>>(),
    ];
    for l in &r.layers {
        for (i, pair) in l.pairs.iter().enumerate() {
            let first = match i {
                0 => l.name.clone(),
                1 => format!("  {}", l.shape),
                2 => format!("  {:.1} MMAC", l.macs as f64 / 1e6),
                _ => String::new(),
            };
            let (a, b) = if pair.scope == "host" {
                let best = pair.fastest.as_ref().and_then(|(b, lw)| pair.time(b, *lw)).map_or(
                    "-".into(),
                    |t| {
                        format!(
                            "fastest: {} {} {}",
                            t.backend,
                            short(t.lowering),
                            ms(t.sample.median_ns)
                        )
                    },
                );
                (best, String::new())
            } else {
                (
                    time_cell(pair, l.macs, Lowering::Int8ZeroPointTerms),
                    time_cell(pair, l.macs, Lowering::Int16Upcast),
                )
            };
            let x = speedup(pair).map_or("-".into(), |s| format!("{s:.2}"));
            let mut row = vec![first, pair.scope.clone(), a, b, x];
            row.extend(pair.picks.iter().map(|p| pick_cell(pair, p)));
            rows.push(row);
        }
    }
    aligned(&rows)
}

fn pct(n: usize, of: usize) -> String {
    format!("{n}/{of} ({:.0} %)", 100.0 * Quality::share(n, of))
}

/// The decision-quality summary.
pub fn quality_table(r: &BenchReport) -> String {
    let mut rows = vec![
        [
            "policy",
            "scope",
            "picked the fastest",
            &format!("within {:.0} %", 100.0 * TIE),
            "time vs per-layer best",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>(),
    ];
    for q in &r.quality {
        rows.push(vec![
            q.policy.clone(),
            q.scope.clone(),
            pct(q.fastest, q.pairs),
            pct(q.within_noise, q.pairs),
            format!("{:+.1} %", 100.0 * (q.time_vs_best - 1.0)),
        ]);
    }
    aligned(&rows)
}

/// The whole-model table.
pub fn model_table(r: &BenchReport) -> String {
    let mut rows = vec![
        ["model", "compiled with", "median", "min", "GMAC/s", "conv/dense kernels", "lowerings"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ];
    for m in &r.models {
        for (i, v) in m.variants.iter().enumerate() {
            let name = if i == 0 {
                format!("{} ({:.0} MMAC)", m.name, m.macs as f64 / 1e6)
            } else {
                String::new()
            };
            rows.push(vec![
                name,
                v.label.clone(),
                format!("{} ±{:.0} %", ms(v.sample.median_ns), 50.0 * v.sample.spread),
                ms(v.sample.min_ns),
                format!("{:.0}", m.macs as f64 / v.sample.median_ns),
                v.kernels.clone(),
                v.lowerings.clone(),
            ]);
        }
    }
    aligned(&rows)
}

/// Everything as Markdown.
pub fn markdown(r: &BenchReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# qnn bench: lowering decisions\n");
    if let Some(n) = &r.note {
        let _ = writeln!(s, "> **{n}**\n");
    }
    let _ = writeln!(
        s,
        "Machine: {}. Threads: {}. Backends: {}.",
        r.machine,
        r.threads,
        r.backends.join(", ")
    );
    let _ = writeln!(s, "Load average before / after: {} / {}.\n", r.load_before, r.load_after);
    let _ = writeln!(s, "Policies: {}.\n", r.policy_names.join("; "));
    let _ = writeln!(s, "## Decision quality\n");
    let _ = writeln!(
        s,
        "| policy | scope | picked the fastest | within {:.0} % | time vs per-layer best |",
        100.0 * TIE
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|");
    for q in &r.quality {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:+.1} % |",
            q.policy,
            q.scope,
            pct(q.fastest, q.pairs),
            pct(q.within_noise, q.pairs),
            100.0 * (q.time_vs_best - 1.0)
        );
    }
    let _ = writeln!(s, "\n![int8 vs int16 speed-up](speedup.svg)\n");
    let _ = writeln!(s, "## Layers (median of alternating runs)\n");
    let _ = write!(s, "| layer | backend | int8-terms | int16-upcast | int16 ÷ int8 time |");
    for p in &r.policies {
        let _ = write!(s, " {p} |");
    }
    let _ = writeln!(s, "\n|---|---|---:|---:|---:|{}", "---|".repeat(r.policies.len()));
    for l in &r.layers {
        for pair in &l.pairs {
            let (a, b) = if pair.scope == "host" {
                (
                    pair.fastest
                        .as_ref()
                        .map_or("-".into(), |(b, lw)| format!("fastest: {b} {}", short(*lw))),
                    String::new(),
                )
            } else {
                (
                    time_cell(pair, l.macs, Lowering::Int8ZeroPointTerms),
                    time_cell(pair, l.macs, Lowering::Int16Upcast),
                )
            };
            let x = speedup(pair).map_or("-".into(), |v| format!("{v:.2}"));
            let _ = write!(
                s,
                "| {} ({}, {:.1} MMAC) | {} | {a} | {b} | {x} |",
                l.name,
                l.shape,
                l.macs as f64 / 1e6,
                pair.scope
            );
            for p in &pair.picks {
                let _ = write!(s, " {} |", pick_cell(pair, p));
            }
            let _ = writeln!(s);
        }
    }
    if !r.models.is_empty() {
        let _ = writeln!(s, "\n## Whole models\n");
        let _ = writeln!(
            s,
            "| model | compiled with | time | GMAC/s | conv/dense kernels | lowerings |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---|---|");
        for m in &r.models {
            for v in &m.variants {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {:.0} | {} | {} |",
                    m.name,
                    v.label,
                    ms(v.sample.median_ns),
                    ms(v.sample.min_ns),
                    m.macs as f64 / v.sample.median_ns,
                    v.kernels,
                    v.lowerings
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\n## Calibration\n\nClock {:.2} GHz (the descriptors' unit). Fitted MACs per cycle:\n",
        r.calibration.clock_ghz
    );
    for (b, f) in &r.calibration.backends {
        let figs: Vec<String> =
            f.macs_per_cycle.iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
        let _ = writeln!(s, "* {b}: {}", figs.join(", "));
    }
    let _ = writeln!(s, "\nTotal time {:.0} s.", r.seconds);
    s
}
