//! The printer. It prints any graph, even an invalid one (a broken lowering is exactly what
//! someone wants to look at): dangling ids and inconsistent definitions print as `%<invalid #N>`
//! and `// invalid: …` comments instead of panicking.

use std::fmt::Write as _;

use super::lexer::{quote_if_needed, value_ref};
use super::literal::fmt_f32;
use super::ops::op_attrs;
use crate::graph::{Graph, Node, ValueDef, ValueId};
use crate::tensor::Tensor;

/// Constants with more elements than this print one row per line, a row being the
/// innermost dimensions that together hold at most this many elements (a 3×3 kernel slice).
const ROW: usize = 16;

/// Prints `g` in the text form; [`parse`](super::parse) reads it back.
pub fn print(g: &Graph) -> String {
    let mut out = String::new();
    out.push_str("graph ");
    out.push_str(&quote_if_needed(&g.name, true));
    // Inputs are bound in `g.inputs` order. The `input` statements give that order when it is
    // the order of definition; otherwise the header lists it.
    let declared: Vec<ValueId> = (0..g.values.len())
        .filter(|&i| g.values[i].def == ValueDef::Input)
        .map(|i| ValueId(i as u32))
        .collect();
    if g.inputs != declared {
        let refs: Vec<String> = g.inputs.iter().map(|&v| name_of(g, v)).collect();
        let _ = write!(out, "({})", refs.join(", "));
    }
    out.push_str(" {\n");

    // Statements in definition order: inputs and constants by value id, nodes in node order,
    // each node placed before the standalone values numbered after its output. For a graph
    // whose node outputs are numbered in node order (what GraphBuilder and the parser make)
    // this is value-id order, so the parser gives every value back its id.
    let standalone: Vec<usize> =
        (0..g.values.len()).filter(|&i| !matches!(g.values[i].def, ValueDef::Node(_))).collect();
    let mut next = 0;
    for (i, node) in g.nodes.iter().enumerate() {
        while next < standalone.len() && standalone[next] < node.output.index() {
            standalone_value(&mut out, g, standalone[next]);
            next += 1;
        }
        node_line(&mut out, g, i, node);
    }
    for &v in &standalone[next..] {
        standalone_value(&mut out, g, v);
    }
    for (i, v) in g.values.iter().enumerate() {
        if let ValueDef::Node(n) = v.def
            && g.nodes.get(n).map(|node| node.output) != Some(ValueId(i as u32))
        {
            let _ = writeln!(
                out,
                "  // invalid: value {}: {} names node #{n} as its definition, which does not define it",
                value_ref(&v.name),
                v.ty
            );
        }
    }

    out.push_str("  return");
    for (i, &o) in g.outputs.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        out.push_str(&name_of(g, o));
    }
    out.push_str("\n}\n");
    out
}

impl std::fmt::Display for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&print(self))
    }
}

/// `%name`, or `%<invalid #N>` for an id outside the graph.
fn name_of(g: &Graph, v: ValueId) -> String {
    match g.values.get(v.index()) {
        Some(value) => value_ref(&value.name),
        None => format!("%<invalid #{}>", v.0),
    }
}

fn standalone_value(out: &mut String, g: &Graph, i: usize) {
    let v = &g.values[i];
    let name = value_ref(&v.name);
    match &v.def {
        ValueDef::Input => {
            let _ = writeln!(out, "  input {name}: {}", v.ty);
        }
        ValueDef::Const(t) => {
            if t.ty() != v.ty {
                let _ = writeln!(
                    out,
                    "  // invalid: {name} is declared {} but its tensor is {}",
                    v.ty,
                    t.ty()
                );
            }
            let _ = write!(out, "  const {name}: {} = ", t.ty());
            constant_data(out, t);
            out.push('\n');
        }
        ValueDef::Node(_) => {}
    }
}

/// The elements in row-major order: inline when short, else one row per line.
fn constant_data(out: &mut String, t: &Tensor) {
    let shape = t.shape();
    match t {
        Tensor::U8(a) => elements(out, shape, a.iter(), |o, x| write!(o, "{x}")),
        Tensor::I8(a) => elements(out, shape, a.iter(), |o, x| write!(o, "{x}")),
        Tensor::I16(a) => elements(out, shape, a.iter(), |o, x| write!(o, "{x}")),
        Tensor::I32(a) => elements(out, shape, a.iter(), |o, x| write!(o, "{x}")),
        Tensor::F32(a) => elements(out, shape, a.iter(), |o, &x| o.write_str(&fmt_f32(x))),
    }
}

fn elements<'t, T: 't>(
    out: &mut String,
    shape: &[usize],
    items: impl ExactSizeIterator<Item = &'t T>,
    write: impl Fn(&mut String, &T) -> std::fmt::Result,
) {
    let n = items.len();
    if n <= ROW {
        out.push('[');
        for (i, x) in items.enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write(out, x);
        }
        out.push(']');
        return;
    }
    let mut row: usize = 1;
    for &d in shape.iter().rev() {
        match row.saturating_mul(d) {
            r if (1..=ROW).contains(&r) => row = r,
            _ => break,
        }
    }
    if row == 1 {
        row = ROW;
    }
    out.push('[');
    for (i, x) in items.enumerate() {
        out.push_str(match (i % row, i) {
            (0, 0) => "\n    ",
            (0, _) => ",\n    ",
            _ => ", ",
        });
        let _ = write(out, x);
    }
    out.push_str("\n  ]");
}

/// `%out: TYPE = op(%a, %b) {attr = value, …} @node`, the `@node` only when the node's name
/// differs from its output's.
fn node_line(out: &mut String, g: &Graph, index: usize, node: &Node) {
    let output = g.values.get(node.output.index());
    if output.is_some_and(|v| v.def != ValueDef::Node(index)) {
        let _ = writeln!(
            out,
            "  // invalid: node #{index} defines {}, which is not marked as its output",
            name_of(g, node.output)
        );
    }
    let ty = output.map_or("?".to_string(), |v| v.ty.to_string());
    let _ = write!(out, "  {}: {ty} = {}(", name_of(g, node.output), node.op.name());
    for (i, &v) in node.inputs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&name_of(g, v));
    }
    out.push(')');
    let attrs = op_attrs(&node.op);
    if !attrs.is_empty() {
        out.push_str(" {");
        for (i, (k, v)) in attrs.iter().enumerate() {
            let _ = write!(out, "{}{k} = {v}", if i > 0 { ", " } else { "" });
        }
        out.push('}');
    }
    if output.is_none_or(|v| v.name != node.name) {
        out.push_str(" @");
        out.push_str(&quote_if_needed(&node.name, false));
    }
    out.push('\n');
}
