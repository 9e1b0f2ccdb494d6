//! `qnn legalize`: the lowered graph and the per-op decisions, for the host or a named target.

use anyhow::{Context, Result};
use qnn_legalize::legalize;

use crate::cli::{Emit, LegalizeArgs};
use crate::load;
use crate::plan;

pub fn run(args: &LegalizeArgs) -> Result<()> {
    let loaded = load::load(&args.model, false)?;
    let target =
        plan::restrict(plan::target(args.plan.target.as_deref())?, args.backend.as_deref())?;
    let policy = plan::policy(&args.plan);
    let l = legalize(&loaded.imported.graph, &target, policy.as_ref())
        .with_context(|| format!("cannot legalize {} for {}", loaded.path.display(), target))?;
    let emit = args.emit.or(if args.explain { None } else { Some(Emit::Ir) });
    if args.explain {
        print!("{}", l.explanation);
        if emit.is_some() {
            println!();
        }
    }
    match emit {
        Some(Emit::Ir) => print!("{}", qnn_ir::text::print(&l.graph)),
        Some(Emit::Json) => println!("{}", l.explanation.to_json()),
        None => {}
    }
    Ok(())
}
