//! `cargo xtask asm-report [--no-build] [--show]`: instructions per MAC of every Arm kernel's
//! inner loop, read from the disassembly of the release build — what emulation cannot distort.
//!
//! Builds `backend-arm-neon` and `backend-arm-dotprod` for aarch64 (release profile, the code
//! a benchmark binary links), disassembles their rlibs with `aarch64-linux-gnu-objdump -d`
//! (or `llvm-objdump`), and in every kernel function (each is a symbol named like its kernel,
//! `neon_gemm_i16_4x16`) finds the hot loop: the innermost loop (a backward branch) that does
//! the most multiply-accumulates per instruction. Per iteration it counts instructions, loads,
//! multiply instructions and their MACs, and prints them next to the peers' figures. It fails
//! when a GEMM loop does fewer MACs per multiply instruction than its peer, or when a hot loop
//! calls a function (an intrinsic stand-in that was not inlined).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cli::AsmReportArgs;
use crate::tools;

/// The target whose kernels are reported.
pub const TRIPLE: &str = "aarch64-unknown-linux-gnu";

/// The crates whose kernels are reported.
pub const CRATES: &[&str] = &["backend-arm-neon", "backend-arm-dotprod"];

/// Disassemblers that read aarch64 objects, in order of preference.
const OBJDUMPS: &[&str] = &["aarch64-linux-gnu-objdump", "llvm-objdump"];

/// One disassembled instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insn {
    pub addr: u64,
    pub mnemonic: String,
    pub operands: String,
}

/// A function of the disassembly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The demangled symbol.
    pub symbol: String,
    pub insns: Vec<Insn>,
}

/// Counts over one iteration of a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoopStats {
    pub instructions: usize,
    pub loads: usize,
    /// Instructions that multiply (`smlal`, `smull`, `sdot`, `smmla`, …).
    pub multiplies: usize,
    /// Multiply-accumulates those instructions perform, lane by lane.
    pub macs: u32,
    /// Calls (`bl`, `blr`).
    pub calls: usize,
}

/// Parses `objdump -d --no-show-raw-insn -C` output into functions.
pub fn parse_objdump(text: &str) -> Vec<Function> {
    let mut out: Vec<Function> = Vec::new();
    for line in text.lines() {
        let t = line.trim_end();
        if let Some(symbol) = t.strip_suffix(">:").and_then(|s| s.split_once(" <")).map(|p| p.1) {
            out.push(Function { symbol: symbol.to_string(), insns: Vec::new() });
        } else if let (Some(f), Some(insn)) = (out.last_mut(), parse_insn(t)) {
            f.insns.push(insn);
        }
    }
    out
}

/// `   c4:\tldp\tq24, q25, [x10]   // comment` → the instruction.
fn parse_insn(line: &str) -> Option<Insn> {
    let (addr, rest) = line.trim_start().split_once(':')?;
    let addr = u64::from_str_radix(addr, 16).ok()?;
    let rest = rest.split("//").next().unwrap_or("").trim();
    let mut parts = rest.splitn(2, char::is_whitespace);
    let mnemonic = parts.next().filter(|m| !m.is_empty() && *m != "...")?.to_string();
    let operands = parts.next().unwrap_or("").trim().to_string();
    Some(Insn { addr, mnemonic, operands })
}

/// The target address of a direct branch.
pub fn branch_target(insn: &Insn) -> Option<u64> {
    let m = insn.mnemonic.as_str();
    if !matches!(m, "b" | "cbz" | "cbnz" | "tbz" | "tbnz") && !m.starts_with("b.") {
        return None;
    }
    let before = insn.operands.split(" <").next()?;
    let token = before.rsplit([' ', ',']).next()?.trim();
    u64::from_str_radix(token.trim_start_matches("0x"), 16).ok()
}

/// Loops as (first, last) instruction indices: each backward branch closes one.
pub fn loops(f: &Function) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (j, insn) in f.insns.iter().enumerate() {
        if let Some(t) = branch_target(insn).filter(|&t| t <= insn.addr)
            && let Some(i) = f.insns.iter().position(|x| x.addr == t)
        {
            out.push((i, j));
        }
    }
    out
}

/// Loops that contain no other loop.
pub fn innermost(all: &[(usize, usize)]) -> Vec<(usize, usize)> {
    all.iter()
        .copied()
        .filter(|&(i, j)| !all.iter().any(|&(a, b)| (a, b) != (i, j) && i <= a && b <= j))
        .collect()
}

/// Multiply-accumulates of one instruction: lanes of its destination, times the products
/// each lane sums (4 for a dot product, 8 per lane pair of a matrix multiply).
pub fn macs(mnemonic: &str, operands: &str) -> u32 {
    let dest = operands.split(',').next().unwrap_or("");
    let lanes = match dest.rsplit('.').next() {
        Some("16b") => 16,
        Some("8b" | "8h") => 8,
        Some("4h" | "4s") => 4,
        Some("2s" | "2d") => 2,
        _ => 0,
    };
    if !dest.contains('.') {
        return 0;
    }
    match mnemonic {
        "smlal" | "smlal2" | "umlal" | "umlal2" | "smlsl" | "smlsl2" | "umlsl" | "umlsl2"
        | "smull" | "smull2" | "umull" | "umull2" | "mla" | "mls" | "mul" => lanes,
        "sdot" | "udot" | "usdot" | "sudot" => 4 * lanes,
        "smmla" | "ummla" | "usmmla" => 32,
        _ => 0,
    }
}

/// Counts over instructions `first..=last` of `f`.
pub fn stats(f: &Function, (first, last): (usize, usize)) -> LoopStats {
    let mut s = LoopStats::default();
    for insn in &f.insns[first..=last] {
        s.instructions += 1;
        let m = macs(&insn.mnemonic, &insn.operands);
        s.macs += m;
        s.multiplies += usize::from(m > 0);
        s.loads += usize::from(insn.mnemonic.starts_with("ld"));
        s.calls += usize::from(matches!(insn.mnemonic.as_str(), "bl" | "blr"));
    }
    s
}

/// The innermost loop with the most MACs per instruction (ties: more MACs).
pub fn hot_loop(f: &Function) -> Option<((usize, usize), LoopStats)> {
    let density = |s: &LoopStats| f64::from(s.macs) / s.instructions as f64;
    innermost(&loops(f))
        .into_iter()
        .map(|l| (l, stats(f, l)))
        .filter(|(_, s)| s.macs > 0)
        .max_by(|(_, a), (_, b)| density(a).total_cmp(&density(b)).then(a.macs.cmp(&b.macs)))
}

/// The kernel a symbol implements: its last path segment, when it names an Arm kernel (or a
/// variant of one: `neon_dw_i16_16_t3`).
pub fn kernel_name(symbol: &str) -> Option<&str> {
    let name = symbol.rsplit("::").next()?;
    let arm = ["neon_", "dotprod_", "i8mm_"].iter().any(|p| name.starts_with(p));
    (arm && (name.contains("_gemm_") || name.contains("_dw_"))).then_some(name)
}

/// The published figure a kernel's loop is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peer {
    pub what: &'static str,
    /// MACs per multiply instruction.
    pub macs_per_multiply: f64,
}

/// The peer of a kernel (peer-figures.md): XNNPACK's A53 4×16 mlal-lane (4 per `smlal`),
/// `smull` + `sadalp` (8 per two instructions), XNNPACK's 4×16c4 neondot (16 per `sdot`),
/// `smmla` (32); the `_mlal` kernel against XNNPACK's c16 `smull` + `smlal2` + `sadalp`
/// (16 per three instructions, 8 per multiply). Depthwise loops have no published figure
/// to compare with.
pub fn peer(kernel: &str) -> Option<Peer> {
    if !kernel.contains("_gemm_") {
        return None;
    }
    let (what, figure) = if kernel.starts_with("i8mm_") {
        ("smmla", 32.0)
    } else if kernel.starts_with("dotprod_") {
        ("XNNPACK 4x16c4 neondot (sdot)", 16.0)
    } else if kernel.ends_with("_mlal") {
        ("XNNPACK c16 smull + smlal2 + sadalp", 8.0)
    } else if kernel.contains("_i16_") {
        ("XNNPACK A53 4x16 mlal-lane (smlal)", 4.0)
    } else if kernel.starts_with("neon_") {
        ("smull + sadalp, 8 per two", 8.0)
    } else {
        return None;
    };
    Some(Peer { what, macs_per_multiply: figure })
}

/// Useful fraction of the MACs an instruction performs: the dotprod depthwise kernels keep
/// one weight byte in four (`sdot` does 16 MACs, 4 useful), and with the T3 term half of
/// their `sdot`s sum the window instead (`sdot` with a vector of ones).
pub fn useful_fraction(kernel: &str) -> f64 {
    match kernel {
        k if k.starts_with("dotprod_dw_") && k.ends_with("_t3") => 0.125,
        k if k.starts_with("dotprod_dw_") => 0.25,
        _ => 1.0,
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub kernel: String,
    pub span: (u64, u64),
    pub stats: LoopStats,
    /// MACs that compute the layer.
    pub useful_macs: f64,
    pub peer: Option<Peer>,
}

impl Row {
    pub fn macs_per_multiply(&self) -> f64 {
        self.useful_macs / self.stats.multiplies.max(1) as f64
    }
    pub fn macs_per_instruction(&self) -> f64 {
        self.useful_macs / self.stats.instructions.max(1) as f64
    }
    /// Why this row fails the report, if it does.
    pub fn problem(&self) -> Option<String> {
        if self.stats.calls > 0 {
            return Some(format!("{}: the hot loop calls a function", self.kernel));
        }
        let p = self.peer?;
        (self.macs_per_multiply() < p.macs_per_multiply).then(|| {
            format!(
                "{}: {:.1} MACs per multiply, below {} ({})",
                self.kernel,
                self.macs_per_multiply(),
                p.macs_per_multiply,
                p.what
            )
        })
    }
}

/// The rows of every kernel function in `functions` that has a multiply loop, sorted.
pub fn rows(functions: &[Function]) -> Vec<Row> {
    let mut out: Vec<Row> = functions
        .iter()
        .filter_map(|f| {
            let kernel = kernel_name(&f.symbol)?;
            let ((i, j), stats) = hot_loop(f)?;
            Some(Row {
                kernel: kernel.to_string(),
                span: (f.insns[i].addr, f.insns[j].addr),
                stats,
                useful_macs: f64::from(stats.macs) * useful_fraction(kernel),
                peer: peer(kernel),
            })
        })
        .collect();
    out.sort_by(|a, b| a.kernel.cmp(&b.kernel));
    out.dedup_by(|a, b| a.kernel == b.kernel);
    out
}

/// The table.
pub fn format(rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<29} {:>13} {:>6} {:>6} {:>5} {:>6} {:>9} {:>10}   peer: MACs/mul",
        "kernel (hot loop)", "loop", "instr", "loads", "mul", "MACs", "MACs/mul", "MACs/instr"
    );
    for r in rows {
        let peer = r
            .peer
            .map_or("   -".to_string(), |p| format!("{:>4}  {}", p.macs_per_multiply, p.what));
        let _ = writeln!(
            s,
            "{:<29} {:>13} {:>6} {:>6} {:>5} {:>6} {:>9.1} {:>10.2}   {}",
            r.kernel,
            format!("{:x}-{:x}", r.span.0, r.span.1),
            r.stats.instructions,
            r.stats.loads,
            r.stats.multiplies,
            r.useful_macs,
            r.macs_per_multiply(),
            r.macs_per_instruction(),
            peer
        );
    }
    s
}

/// The loop bodies, for `--show`.
fn bodies(functions: &[Function]) -> String {
    let mut s = String::new();
    for f in functions {
        let (Some(kernel), Some(((i, j), _))) = (kernel_name(&f.symbol), hot_loop(f)) else {
            continue;
        };
        let _ = writeln!(s, "\n{kernel}:");
        for insn in &f.insns[i..=j] {
            let _ = writeln!(s, "  {:>6x}:  {:<8} {}", insn.addr, insn.mnemonic, insn.operands);
        }
    }
    s
}

/// The rlib cargo writes for `krate`.
fn rlib(krate: &str) -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| "target".into(), PathBuf::from);
    target.join(TRIPLE).join("release").join(format!("lib{}.rlib", krate.replace('-', "_")))
}

/// Runs `cargo xtask asm-report`; true when no loop falls below its peer.
pub fn run(args: &AsmReportArgs) -> Result<bool> {
    if !args.no_build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(&cargo);
        cmd.args(["build", "--release", "--target", TRIPLE]);
        for c in CRATES {
            cmd.args(["-p", c]);
        }
        println!("==> cargo build --release --target {TRIPLE} -p {}", CRATES.join(" -p "));
        let status = cmd.status().with_context(|| format!("cannot run {cargo}"))?;
        if !status.success() {
            bail!(
                "the release build for {TRIPLE} failed; if the target is missing, install it with:\n    rustup target add {TRIPLE}"
            );
        }
    }
    let Some(objdump) = OBJDUMPS.iter().find_map(|o| tools::which(o)) else {
        bail!(
            "no aarch64 disassembler ({}); install one with:\n    sudo apt-get install binutils-aarch64-linux-gnu",
            OBJDUMPS.join(", ")
        );
    };
    let mut functions = Vec::new();
    for c in CRATES {
        let lib = rlib(c);
        if !lib.exists() {
            bail!("{} does not exist; run without --no-build", lib.display());
        }
        let out = Command::new(&objdump)
            .args(["-d", "--no-show-raw-insn", "-C"])
            .arg(&lib)
            .output()
            .with_context(|| format!("cannot run {}", objdump.display()))?;
        functions.extend(parse_objdump(&String::from_utf8_lossy(&out.stdout)));
    }
    let rows = rows(&functions);
    if rows.is_empty() {
        bail!("no kernel loops found in the disassembly of {}", CRATES.join(", "));
    }
    println!(
        "Hot loops of the Arm kernels: release build for {TRIPLE}, disassembled with {}.\n\
         Per iteration: instructions, loads, multiply instructions, useful MACs.\n",
        objdump.display()
    );
    print!("{}", format(&rows));
    println!(
        "\n`_plain`/`_t3`: depthwise without / with the T3 window sums. dotprod depthwise counts\n\
         4 useful MACs per sdot (one weight byte in four), none for its window-sum sdots."
    );
    if args.show {
        print!("{}", bodies(&functions));
    }
    let problems: Vec<String> = rows.iter().filter_map(Row::problem).collect();
    for p in &problems {
        println!("FAIL: {p}");
    }
    Ok(problems.is_empty())
}

#[cfg(test)]
mod tests;
