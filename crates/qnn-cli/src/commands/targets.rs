//! `qnn targets`: the backends built into this binary, whether each can run here and why
//! not, and the named targets `--target` accepts.

use anyhow::Result;
use qnn_ir::backend::{Arch, BackendDescriptor, registry};
use qnn_legalize::Target;
use qnn_legalize::target::cpus;

use crate::cli::TargetsArgs;
use crate::out::outln;

/// What `qnn targets` says about one backend.
struct Row {
    d: &'static BackendDescriptor,
    probe: Result<(), String>,
    kernels: usize,
}

fn rows() -> Vec<Row> {
    let mut ds = registry::backends();
    ds.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(b.name)));
    ds.into_iter()
        .map(|d| Row {
            d,
            probe: d.probe(),
            kernels: registry::kernels_of(d.name).len() + registry::device_kernels_of(d.name).len(),
        })
        .collect()
}

fn int8_dot(d: &BackendDescriptor) -> String {
    let v: Vec<&str> = d.capabilities.int8_dot.iter().map(|x| x.as_str()).collect();
    if v.is_empty() { "-".into() } else { v.join(",") }
}

fn cpus(arch: Arch) -> Vec<&'static str> {
    cpus::known_cpus().iter().filter(|c| c.arch == arch).map(|c| c.name).collect()
}

pub fn run(args: &TargetsArgs) -> Result<()> {
    let rows = rows();
    let host = Target::host();
    if args.json {
        let backends: Vec<_> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.d.name,
                    "arch": r.d.arch.as_str(),
                    "features": r.d.features,
                    "priority": r.d.priority,
                    "int8_dot": r.d.capabilities.int8_dot.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
                    "int16_mac": r.d.capabilities.int16_mac,
                    "vector_bits": r.d.capabilities.vector_bits,
                    "kernels": r.kernels,
                    "usable": r.probe.is_ok(),
                    "why_not": r.probe.as_ref().err(),
                    "summary": r.d.summary,
                })
            })
            .collect();
        let named: serde_json::Map<String, serde_json::Value> =
            cpus::triples().into_iter().map(|(a, t)| (t, serde_json::json!(cpus(a)))).collect();
        let out = serde_json::json!({
            "host": { "arch": Arch::host().as_str(), "features": host.features(),
                      "backends": host.backends().iter().map(|d| d.name).collect::<Vec<_>>() },
            "backends": backends,
            "named_targets": named,
            "problems": registry::problems(),
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }

    outln!("Backends built into qnn (highest priority first):\n");
    let header = ["backend", "arch", "int8 dot", "int16", "kernels", "usable here"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.d.name.to_string(),
                r.d.arch.to_string(),
                int8_dot(r.d),
                if r.d.capabilities.int16_mac { "yes".into() } else { "-".into() },
                r.kernels.to_string(),
                match &r.probe {
                    Ok(()) => "yes".into(),
                    Err(why) => format!("no: {why}"),
                },
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c).take(5) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: &[String]| {
        let mut s = String::from("  ");
        for (k, cell) in c.iter().enumerate() {
            s.push_str(cell);
            if k + 1 < c.len() {
                s.push_str(&" ".repeat(width[k].saturating_sub(cell.chars().count()) + 2));
            }
        }
        outln!("{}", s.trim_end());
    };
    line(&header.map(String::from));
    for c in &cells {
        line(c);
    }
    outln!();
    for r in &rows {
        outln!("  {:<w$}  {}", r.d.name, r.d.summary, w = width[0]);
    }
    let arch_only = rows.iter().any(|r| r.kernels == 0);
    if arch_only {
        outln!(
            "\n  A backend of another architecture lists 0 kernels here: its kernels are only \
             built for its own\n  architecture, its descriptor everywhere, so `qnn legalize --target` \
             can plan for it from any machine."
        );
    }
    outln!(
        "\nThis machine ({}): features {}\n  `qnn run` uses: {}",
        Arch::host(),
        if host.features().is_empty() { "-".into() } else { host.features().join(", ") },
        host.backend_names()
    );
    outln!(
        "\nNamed targets for `qnn legalize --target` / `qnn run --target` (TRIPLE:CPU or TRIPLE:+FEATURE,…):"
    );
    for (arch, triple) in cpus::triples() {
        outln!("  {triple}: {}", cpus(arch).join(", "));
    }
    for p in registry::problems() {
        outln!("\nproblem: {p}");
    }
    Ok(())
}
