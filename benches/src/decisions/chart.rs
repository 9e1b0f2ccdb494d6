//! The chart: int8-vs-int16 speed-up per layer and backend, as a hand-written SVG. One group
//! of bars per layer, one bar per backend that runs both lowerings on its own kernels (and
//! one for the host: its best int8 candidate against its best int16 one). A bar is
//! `time(int16) / time(int8)` on a log scale: up, int8 is faster; down, int16 is.

use std::fmt::Write as _;

use super::BenchReport;
use super::report::speedup;

const COLORS: [&str; 6] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The SVG document.
pub fn svg(r: &BenchReport) -> String {
    // Series: scopes with at least one speed-up, in the order they first appear.
    let mut series: Vec<String> = Vec::new();
    for l in &r.layers {
        for p in &l.pairs {
            if speedup(p).is_some() && !series.contains(&p.scope) {
                series.push(p.scope.clone());
            }
        }
    }
    let n = r.layers.len().max(1);
    let bar = 14.0;
    let group = bar * series.len().max(1) as f64 + 18.0;
    let (left, top, plot_h, bottom) = (110.0, 70.0, 320.0, 190.0);
    let width = (left + group * n as f64 + 30.0).max(900.0);
    let height = top + plot_h + bottom;
    // log2 scale from 1/16 to 16.
    let (lo, hi) = (-4.0f64, 4.0f64);
    let y = |v: f64| top + plot_h * (hi - v.log2().clamp(lo, hi)) / (hi - lo);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="22" font-size="15" font-weight="bold">int8 vs int16: time(int16-upcast) ÷ time(int8-terms) per layer and backend</text>"#
    );
    let mut sub = format!(
        "{} · {} thread(s) · up: int8 faster, down: int16 faster",
        r.machine.cpu, r.threads
    );
    if let Some(note) = &r.note {
        sub = format!("{note} · {sub}");
    }
    let _ = writeln!(s, r##"<text x="{left}" y="40" fill="#444">{}</text>"##, esc(&sub));
    // Grid and axis labels.
    for e in -4..=4 {
        let v = 2f64.powi(e);
        let yy = y(v);
        let (stroke, w) = if e == 0 { ("#000", 1.5) } else { ("#ddd", 1.0) };
        let _ = writeln!(
            s,
            r#"<line x1="{left}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="{stroke}" stroke-width="{w}"/>"#,
            width - 20.0
        );
        let label = if e >= 0 { format!("×{}", 1 << e) } else { format!("×1/{}", 1 << -e) };
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"#,
            left - 6.0,
            yy + 4.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">int16 time ÷ int8 time (log scale)</text>"#,
        top + plot_h / 2.0
    );
    // Bars.
    for (i, l) in r.layers.iter().enumerate() {
        let x0 = left + group * i as f64 + 9.0;
        for (j, scope) in series.iter().enumerate() {
            let Some(v) = l.pairs.iter().find(|p| &p.scope == scope).and_then(speedup) else {
                continue;
            };
            let x = x0 + bar * j as f64;
            let (y1, y0) = (y(v), y(1.0));
            let (ytop, h) = if y1 < y0 { (y1, y0 - y1) } else { (y0, y1 - y0) };
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{ytop:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {} ×{v:.2}</title></rect>"#,
                bar - 2.0,
                h.max(1.0),
                COLORS[j % COLORS.len()],
                esc(&l.name),
                esc(scope)
            );
            let ty = if y1 < y0 { ytop - 3.0 } else { ytop + h + 9.0 };
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{ty:.1}" font-size="7" text-anchor="middle">{v:.2}</text>"#,
                x + (bar - 2.0) / 2.0
            );
        }
        let lx = x0 + group / 2.0 - 9.0;
        let ly = top + plot_h + 12.0;
        let _ = writeln!(
            s,
            r#"<text transform="translate({lx:.1} {ly:.1}) rotate(-40)" text-anchor="end">{}</text>"#,
            esc(&l.name)
        );
    }
    // Legend.
    for (j, scope) in series.iter().enumerate() {
        let x = left + 150.0 * j as f64;
        let yy = height - 24.0;
        let label = if scope == "host" {
            "host: best int16 ÷ best int8 (any backend)".to_string()
        } else {
            scope.clone()
        };
        let _ = writeln!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{}"/>"#,
            yy - 10.0,
            COLORS[j % COLORS.len()]
        );
        let _ = writeln!(s, r#"<text x="{:.1}" y="{yy:.1}">{}</text>"#, x + 16.0, esc(&label));
    }
    s.push_str("</svg>\n");
    s
}
