//! The text form of a [`Graph`]: [`print()`] writes any graph, [`parse`] reads it back.
//!
//! ```
//! let text = r#"graph tiny_qconv {
//!   input %x: u8[1,3,8,8]
//!   const %w: i8[4,3,1,1] = [1, -2, 3, 4, 5, 6, -7, 8, 9, 10, 11, 12]
//!   %acc: i32[1,4,8,8] = qnn.conv2d(%x, %w) {strides = [1, 1], padding = [0, 0, 0, 0], dilation = [1, 1], groups = 1, data_layout = NCHW, kernel_layout = OIHW, input = q(0.05, 128), kernel = q([0.01, 0.02, 0.015, 0.03], 0, axis=0)}
//!   %y: u8[1,4,8,8] = requantize(%acc) {scale = fixed(tonearest, [(1518500250, -5), (1518500250, -4), (1073741824, -4), (1518500250, -3)]), axes = [1], input_zero_point = 0, output_zero_point = 3, out_dtype = u8}
//!   return %y
//! }
//! "#;
//! let g = qnn_ir::text::parse(text)?;
//! assert_eq!(g.nodes[0].op.name(), "qnn.conv2d");
//! assert_eq!(qnn_ir::text::print(&g), text);
//! # Ok::<(), qnn_ir::IrError>(())
//! ```
//!
//! * One statement per value, in the order the values are numbered: `input %name: type`,
//!   `const %name: type = [elements…]` (row-major, every element written exactly), and nodes
//!   `%name: type = op(%operands…) {attributes}`; `return %a, %b` lists the graph outputs.
//! * Types are `dtype[dims]` (`i32[]` is a scalar). Names that are not plain (`A-Z a-z 0-9 _ .`)
//!   are quoted: `%"conv1/W:0"`. A node whose name differs from its output's adds `@name`.
//! * Graph inputs are bound in the order of the `input` statements, unless the header lists
//!   another order: `graph g(%b, %a) {`.
//! * Nodes list every attribute of their op ([`op_signatures`]), in any order. Values:
//!   integers `3`; floats `0.25`, `1e-7`, `-0.0`, `inf`, `nan` or `nan(0x7fc00001)` (a NaN
//!   with its bits); `true`/`false`; dtypes `u8`; enums by name (`NCHW`, `OHWI`, `tonearest`,
//!   `sum`); lists `[1, 1]`; quantization parameters `q(scale, zero_point)` or
//!   `q([s0, s1], [z0, z1], axis=1)` (one value stands for a one-element list); requantize
//!   multipliers `fixed(rounding, [(multiplier, shift), …])` or `float([m0, m1])`.
//! * `//` starts a comment.
//!
//! Printing is exact: `parse_unverified(&print(g)) == g` for every graph numbered in
//! definition order (node outputs numbered in node order, as [`GraphBuilder`] and [`parse`]
//! number them), invalid graphs included as long as their ids are in range and each node's
//! output names that node. A graph numbered otherwise (a pass that appends values but splices
//! nodes) prints in node order and parses back identical up to the numbering of its values.
//! Floats keep their bits (NaN payloads too), names their characters.
//!
//! [`GraphBuilder`]: crate::GraphBuilder

mod attr;
mod lexer;
mod literal;
mod ops;
mod parse;
mod print;

pub use parse::parse_unverified;
pub use print::print;

use crate::error::IrError;
use crate::graph::Graph;

/// Parses the text form and verifies the graph ([`Graph::verify`]). Syntax errors are
/// [`IrError::Parse`] with the line and column; a well-formed but invalid graph gives the
/// verifier's error, and one whose types exceed the process's default
/// [`Limits`](crate::limits::Limits) [`IrError::LimitExceeded`]. Parsing itself never
/// allocates more than the text holds: declared types are only numbers until something
/// computes with them.
pub fn parse(src: &str) -> Result<Graph, IrError> {
    let g = parse_unverified(src)?;
    g.verify()?;
    Ok(g)
}

/// The op names of the text form with their attribute names, in printing order.
pub fn op_signatures() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    ops::OPS.iter().copied()
}
