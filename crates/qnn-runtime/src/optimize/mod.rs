//! Graph optimizations before planning: constant folding, fusion of conv/dense chains, and
//! the NHWC layout at the graph edges.

pub(crate) mod fold;
pub(crate) mod fuse;
pub(crate) mod layout;
