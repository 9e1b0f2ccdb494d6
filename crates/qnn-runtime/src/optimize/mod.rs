//! Graph optimizations, after legalization and before planning: constant folding, fusion of
//! each conv/dense chain into one step and of each op around the convolutions into one
//! typed step (from the legalizer's records), one NHWC layout conversion at the graph edges,
//! fused with the quantization there. Nothing here chooses a kernel: that is the
//! [plan](crate::plan)'s job, on the dataflow this produces.

pub(crate) mod dataflow;
pub(crate) mod edges;
pub(crate) mod fold;
pub(crate) mod fuse;
pub(crate) mod layout;

use qnn_ir::Graph;
use qnn_legalize::Record;

use crate::error::RuntimeError;
use dataflow::Dataflow;

/// fold → fuse → layout → edges: the dataflow of a lowered graph. `records` are the legalizer's for
/// `lowered`; `None` for a graph that arrived lowered.
pub(crate) fn optimize(
    lowered: &Graph,
    records: Option<&[Record]>,
) -> Result<Dataflow, RuntimeError> {
    let folded = fold::fold_constants(lowered)?;
    let dataflow = fuse::fuse(folded, records)?;
    Ok(edges::fuse_edges(layout::to_nhwc(dataflow)?))
}
