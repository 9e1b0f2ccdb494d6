//! Targets, policies and forced lowerings from the command line (shared by `legalize` and
//! `run`).

use anyhow::{Context, Result, bail};
use qnn_ir::backend::Arch;
use qnn_legalize::{Capability, CostModel, Forced, Lowering, LoweringPolicy, Target};

use crate::cli::{LoweringArg, PolicyArg, SelectionArgs};

/// The target named on the command line (`host` when none).
pub fn target(name: Option<&str>) -> Result<Target> {
    match name {
        None => Ok(Target::host()),
        Some(s) => s.parse::<Target>().with_context(|| {
            format!("--target {s}: not a target qnn knows (`qnn targets` lists the CPU names)")
        }),
    }
}

/// `target` restricted to one backend, if one is named.
pub fn restrict(target: Target, backend: Option<&str>) -> Result<Target> {
    match backend {
        None => Ok(target),
        Some(b) => {
            let t = target.restrict_to(b).with_context(|| format!("--backend {b}"))?;
            Ok(t)
        }
    }
}

pub fn lowering(arg: Option<LoweringArg>) -> Option<Lowering> {
    arg.map(|l| match l {
        LoweringArg::Int8Terms => Lowering::Int8ZeroPointTerms,
        LoweringArg::Int16Upcast => Lowering::Int16Upcast,
    })
}

/// The policy, wrapped in [`Forced`] when a lowering is forced.
pub fn policy(args: &SelectionArgs) -> Box<dyn LoweringPolicy> {
    let base: Box<dyn LoweringPolicy> = match args.policy {
        PolicyArg::Capability => Box::new(Capability),
        PolicyArg::CostModel => Box::new(CostModel::new()),
    };
    match (lowering(args.lowering), args.policy) {
        (None, _) => base,
        (Some(l), PolicyArg::Capability) => Box::new(Forced::new(Capability).all(l)),
        (Some(l), PolicyArg::CostModel) => Box::new(Forced::new(CostModel::new()).all(l)),
    }
}

/// A named target that `run` can execute here: this machine's architecture, and every
/// backend it uses passes its probe (a named x86 CPU with VNNI on an AVX2-only machine
/// would call instructions this CPU lacks). A `cuda` target runs its convolutions on this
/// machine's GPU and the rest on the CPU; the runtime says when there is no usable GPU.
pub fn check_runnable(t: &Target) -> Result<()> {
    if t.is_host() || qnn_legalize::target::cpus::is_device(t.arch()) {
        return Ok(());
    }
    if t.arch() != Arch::host() {
        bail!(
            "target {} is a {} machine and this one is {}: `qnn run` runs on this machine \
             (use `qnn legalize --target {} --explain` to see its plan, or run qnn there)",
            t.name(),
            t.arch(),
            Arch::host(),
            t.name()
        );
    }
    for d in t.backends() {
        if let Err(why) = d.probe() {
            bail!(
                "target {} uses backend {}, which cannot run on this machine: {why}",
                t.name(),
                d.name
            );
        }
    }
    Ok(())
}
