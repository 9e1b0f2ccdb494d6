//! `qnn legalize`: the lowered graph and the per-op decisions, for the host or a named target.

use anyhow::{Context, Result};
use qnn_legalize::legalize;

use crate::cli::{Emit, LegalizeArgs};
use crate::load;
use crate::out::{out, outln};
use crate::selection;

pub fn run(args: &LegalizeArgs) -> Result<()> {
    let mut loaded = load::load(&args.model, false)?;
    loaded.release_model();
    let target = selection::restrict(
        selection::target(args.select.target.as_deref())?,
        args.backend.as_deref(),
    )?;
    let policy = selection::policy(&args.select);
    let l = legalize(&loaded.imported.graph, &target, policy.as_ref())
        .with_context(|| format!("cannot legalize {} for {}", loaded.path.display(), target))?;
    let emit = args.emit.or(if args.explain { None } else { Some(Emit::Ir) });
    if args.explain {
        out!("{}", l.explanation);
        if emit.is_some() {
            outln!();
        }
    }
    match emit {
        Some(Emit::Ir) => out!("{}", qnn_ir::text::print(&l.graph)),
        Some(Emit::Json) => outln!("{}", l.explanation.to_json()),
        None => {}
    }
    Ok(())
}
