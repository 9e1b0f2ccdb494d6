//! The parser: tokens → statements → graph.
//!
//! Statements are parsed first and names resolved afterwards, so `parse_unverified` can read
//! graphs that use a value before its definition (the verifier then says so).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::attr::{Attr, Spanned};
use super::lexer::{Lexer, Pos, Tok, Token, value_ref};
use super::literal::{nan_f32, parse_f32, parse_int};
use super::ops::{Attrs, build_op};
use crate::dtype::DType;
use crate::error::IrError;
use crate::graph::{Graph, Node, Value, ValueDef, ValueId};
use crate::ops::Op;
use crate::tensor::{Tensor, TensorType};

/// Deepest nesting of `[`, `(` in an attribute value (bounds the recursion).
const MAX_DEPTH: usize = 32;

/// A name as written, with where it was written.
type Ref = (String, Pos);

enum Def {
    Input,
    Const(Tensor),
    Node { op: Op, inputs: Vec<Ref>, node_name: String },
}

struct Stmt {
    name: Ref,
    ty: TensorType,
    def: Def,
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The current token and the next one (fewer only at the end of the stream).
    ahead: VecDeque<Token<'a>>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        let mut p = Parser { lexer: Lexer::new(src), ahead: VecDeque::with_capacity(2) };
        p.fill();
        p
    }

    fn fill(&mut self) {
        while self.ahead.len() < 2 && !self.ahead.back().is_some_and(|t| t.tok.ends()) {
            self.ahead.push_back(self.lexer.token());
        }
    }

    fn tok(&self) -> &Tok<'a> {
        &self.ahead[0].tok
    }

    fn tok_at(&self, ahead: usize) -> &Tok<'a> {
        &self.ahead[ahead.min(self.ahead.len() - 1)].tok
    }

    fn pos(&self) -> Pos {
        self.ahead[0].pos
    }

    /// Moves past the current token; the last token (end of input or an error) stays.
    fn bump(&mut self) {
        if !self.tok().ends() {
            self.ahead.pop_front();
            self.fill();
        }
    }

    /// "expected X, found Y" at the current token (or the lexer's message there).
    fn fail(&self, expected: &str) -> IrError {
        match self.tok() {
            Tok::Error(msg) => self.pos().error(msg.clone()),
            t => self.pos().error(format!("expected {expected}, found {}", t.describe())),
        }
    }

    fn eat(&mut self, c: char) -> bool {
        let yes = *self.tok() == Tok::Punct(c);
        if yes {
            self.bump();
        }
        yes
    }

    fn expect(&mut self, c: char, context: &str) -> Result<Pos, IrError> {
        let pos = self.pos();
        if self.eat(c) { Ok(pos) } else { Err(self.fail(&format!("`{c}` {context}"))) }
    }

    fn keyword(&mut self, word: &str) -> bool {
        let yes = *self.tok() == Tok::Ident(word);
        if yes {
            self.bump();
        }
        yes
    }

    fn value(&mut self, expected: &str) -> Result<Ref, IrError> {
        match self.tok() {
            Tok::Value(name) => {
                let r = (name.to_string(), self.pos());
                self.bump();
                Ok(r)
            }
            _ => Err(self.fail(expected)),
        }
    }

    /// `%a, %b, …` up to (not including) `close`.
    fn value_list(&mut self, close: char, what: &str) -> Result<Vec<Ref>, IrError> {
        let mut refs = Vec::new();
        if *self.tok() == Tok::Punct(close) {
            return Ok(refs);
        }
        loop {
            refs.push(self.value(&format!("a value `%name` {what}"))?);
            if !self.eat(',') {
                return Ok(refs);
            }
        }
    }

    fn usize(&mut self, expected: &str) -> Result<usize, IrError> {
        let n = match self.tok() {
            Tok::Number(t) => parse_int(t).and_then(|n| usize::try_from(n).ok()),
            _ => None,
        };
        let n = n.ok_or_else(|| self.fail(expected))?;
        self.bump();
        Ok(n)
    }

    /// `u8[1,3,224,224]`.
    fn ty(&mut self, of: &str) -> Result<TensorType, IrError> {
        let dtype = match self.tok() {
            Tok::Ident(d) => d.parse::<DType>().map_err(|e| self.pos().error(e))?,
            _ => return Err(self.fail(&format!("the type of {of} (like `u8[1,3,8,8]`)"))),
        };
        self.bump();
        self.expect('[', &format!("to open the shape of {of}"))?;
        let mut shape = Vec::new();
        if !self.eat(']') {
            loop {
                shape.push(self.usize(&format!("a dimension of {of}"))?);
                if self.eat(']') {
                    break;
                }
                self.expect(',', &format!("or `]` in the shape of {of}"))?;
            }
        }
        Ok(TensorType { dtype, shape })
    }

    fn attr_value(&mut self, depth: usize) -> Result<Spanned, IrError> {
        let pos = self.pos();
        if depth > MAX_DEPTH {
            return Err(pos.error(format!("attribute value nested deeper than {MAX_DEPTH} levels")));
        }
        let attr = match self.tok().clone() {
            Tok::Number(t) => {
                self.bump();
                Attr::Num(t.to_string())
            }
            Tok::Ident(w) if *self.tok_at(1) == Tok::Punct('(') => {
                self.bump();
                self.bump();
                let (mut args, mut named) = (Vec::new(), Vec::new());
                if !self.eat(')') {
                    loop {
                        match (self.tok().clone(), self.tok_at(1)) {
                            (Tok::Ident(key), Tok::Punct('=')) => {
                                self.bump();
                                self.bump();
                                named.push((key.to_string(), self.attr_value(depth + 1)?));
                            }
                            _ => args.push(self.attr_value(depth + 1)?),
                        }
                        if self.eat(')') {
                            break;
                        }
                        self.expect(',', &format!("or `)` in the arguments of `{w}(…)`"))?;
                    }
                }
                Attr::Call { name: w.to_string(), args, named }
            }
            Tok::Ident(w) => {
                self.bump();
                Attr::Word(w.to_string())
            }
            Tok::Punct(open @ ('[' | '(')) => {
                self.bump();
                let close = if open == '[' { ']' } else { ')' };
                let mut items = Vec::new();
                if !self.eat(close) {
                    loop {
                        items.push(self.attr_value(depth + 1)?);
                        if self.eat(close) {
                            break;
                        }
                        self.expect(',', &format!("or `{close}` between items"))?;
                    }
                }
                if open == '[' { Attr::List(items) } else { Attr::Tuple(items) }
            }
            _ => return Err(self.fail("an attribute value")),
        };
        Ok(Spanned { pos, attr })
    }

    /// `{name = value, …}`; duplicate names are errors.
    fn attr_block(&mut self, op: &str) -> Result<Vec<(String, Pos, Spanned)>, IrError> {
        let mut entries: Vec<(String, Pos, Spanned)> = Vec::new();
        if !self.eat('{') || self.eat('}') {
            return Ok(entries);
        }
        loop {
            let pos = self.pos();
            let Tok::Ident(key) = self.tok().clone() else {
                return Err(self.fail(&format!("an attribute name of {op}")));
            };
            self.bump();
            if let Some((_, first, _)) = entries.iter().find(|(k, _, _)| k == key) {
                return Err(pos.error(format!(
                    "{op}: duplicate attribute `{key}` (first given at line {}, column {})",
                    first.line, first.column
                )));
            }
            self.expect('=', &format!("after attribute `{key}` of {op}"))?;
            let v = self.attr_value(0)?;
            entries.push((key.to_string(), pos, v));
            if self.eat('}') {
                return Ok(entries);
            }
            self.expect(',', &format!("or `}}` after attribute `{key}` of {op}"))?;
        }
    }

    /// `[e, e, …]` with exactly `ty`'s number of elements, each inside `ty.dtype`.
    fn constant(&mut self, ty: &TensorType, of: &str) -> Result<Tensor, IrError> {
        let open = self.pos();
        let len = ty.checked_len().ok_or_else(|| {
            open.error(format!("constant {of}: shape {:?} has too many elements", ty.shape))
        })?;
        // Each integer element was checked against the dtype, so the casts are exact.
        let t = match ty.dtype {
            DType::F32 => {
                Tensor::from_vec(&ty.shape, self.elements(ty, len, of, Self::f32_element)?)
            }
            DType::U8 => Tensor::from_vec(&ty.shape, self.ints(ty, len, of, |v| v as u8)?),
            DType::I8 => Tensor::from_vec(&ty.shape, self.ints(ty, len, of, |v| v as i8)?),
            DType::I16 => Tensor::from_vec(&ty.shape, self.ints(ty, len, of, |v| v as i16)?),
            DType::I32 => Tensor::from_vec(&ty.shape, self.ints(ty, len, of, |v| v as i32)?),
        };
        t.map_err(|e| open.error(format!("constant {of}: {e}")))
    }

    fn ints<T>(
        &mut self,
        ty: &TensorType,
        len: usize,
        of: &str,
        cast: fn(i64) -> T,
    ) -> Result<Vec<T>, IrError> {
        self.elements(ty, len, of, |p, of| p.int_element(ty.dtype, of).map(cast))
    }

    /// The bracketed list of `len` elements, each read by `element`.
    fn elements<T>(
        &mut self,
        ty: &TensorType,
        len: usize,
        of: &str,
        mut element: impl FnMut(&mut Self, &str) -> Result<T, IrError>,
    ) -> Result<Vec<T>, IrError> {
        let open = self.expect('[', &format!("to open the elements of {of}"))?;
        // Reserve by what the text can hold, not by what the type claims.
        let mut items = Vec::with_capacity(len.min(1 << 16));
        if !self.eat(']') {
            loop {
                if items.len() == len {
                    return Err(self.pos().error(format!(
                        "constant {of}: more than the {len} element(s) of type {ty}"
                    )));
                }
                items.push(element(self, of)?);
                if self.eat(']') {
                    break;
                }
                self.expect(',', &format!("or `]` between the elements of {of}"))?;
            }
        }
        if items.len() != len {
            return Err(open.error(format!(
                "constant {of}: {} element(s) given, type {ty} has {len}",
                items.len()
            )));
        }
        Ok(items)
    }

    fn int_element(&mut self, dtype: DType, of: &str) -> Result<i64, IrError> {
        let v = match self.tok() {
            Tok::Number(t) => parse_int(t),
            _ => None,
        };
        match v.map(i64::try_from) {
            Some(Ok(v)) if dtype.contains(v) => {
                self.bump();
                Ok(v)
            }
            Some(_) => Err(self
                .pos()
                .error(format!("constant {of}: {} does not fit {dtype}", v.unwrap_or_default()))),
            None => Err(self.fail(&format!("an integer element of {of}"))),
        }
    }

    /// `0.5`, `-inf`, `nan` or `nan(0x…)`.
    fn f32_element(&mut self, of: &str) -> Result<f32, IrError> {
        let x = match self.tok() {
            Tok::Ident("nan") if *self.tok_at(1) == Tok::Punct('(') => {
                self.bump();
                self.bump();
                let bits = match self.tok() {
                    Tok::Number(t) => nan_f32(t).map_err(|e| self.pos().error(e))?,
                    _ => return Err(self.fail("the bits of a NaN, `0x…`")),
                };
                self.bump();
                self.expect(')', "to close `nan(…)`")?;
                return Ok(bits);
            }
            Tok::Number(t) | Tok::Ident(t) => parse_f32(t),
            _ => None,
        };
        let x = x.ok_or_else(|| self.fail(&format!("an f32 element of {of}")))?;
        self.bump();
        Ok(x)
    }

    /// `%out: TYPE = op(%a, …) {attrs} @node`, after the output name.
    fn node(&mut self, name: &Ref) -> Result<Stmt, IrError> {
        let of = value_ref(&name.0);
        self.expect(':', &format!("after {of}"))?;
        let ty = self.ty(&of)?;
        self.expect('=', &format!("after the type of {of}"))?;
        let op_pos = self.pos();
        let Tok::Ident(op_name) = *self.tok() else {
            return Err(self.fail(&format!("an op name for {of} (like `qnn.conv2d`)")));
        };
        self.bump();
        self.expect('(', &format!("to open the operands of {op_name}"))?;
        let inputs = self.value_list(')', &format!("or `)` in the operands of {op_name}"))?;
        self.expect(')', &format!("to close the operands of {op_name}"))?;
        let desc = format!("{op_name} `{}`", name.0);
        let entries = self.attr_block(&desc)?;
        let node_name = match self.tok() {
            Tok::At(n) => {
                let n = n.to_string();
                self.bump();
                n
            }
            _ => name.0.clone(),
        };
        let op = build_op(op_name, &Attrs { op: &desc, pos: op_pos, entries: &entries })?;
        Ok(Stmt { name: name.clone(), ty, def: Def::Node { op, inputs, node_name } })
    }

    fn statement(&mut self) -> Result<Option<Stmt>, IrError> {
        const WHAT: &str = "`input`, `const`, a node `%name: type = op(…)` or `return`";
        if self.keyword("return") {
            return Ok(None);
        }
        let Tok::Ident(kw @ ("input" | "const")) = *self.tok() else {
            let name = self.value(WHAT)?;
            return self.node(&name).map(Some);
        };
        self.bump();
        let name = self.value(&format!("a value `%name` after `{kw}`"))?;
        let of = value_ref(&name.0);
        self.expect(':', &format!("after {of}"))?;
        let ty = self.ty(&of)?;
        let def = if kw == "input" {
            Def::Input
        } else {
            self.expect('=', &format!("after the type of constant {of}"))?;
            Def::Const(self.constant(&ty, &of)?)
        };
        Ok(Some(Stmt { name, ty, def }))
    }
}

/// Parses the text form without verifying the graph (no type inference).
pub fn parse_unverified(src: &str) -> Result<Graph, IrError> {
    let mut p = Parser::new(src);
    if !p.keyword("graph") {
        return Err(p.fail("`graph` at the start"));
    }
    let name = match p.tok() {
        Tok::Ident(n) => n.to_string(),
        Tok::Str(s) => s.to_string(),
        _ => return Err(p.fail("a graph name")),
    };
    p.bump();
    let header = if p.eat('(') {
        let refs = p.value_list(')', "or `)` in the graph's input list")?;
        p.expect(')', "to close the graph's input list")?;
        Some(refs)
    } else {
        None
    };
    p.expect('{', "to open the graph body")?;
    let mut stmts = Vec::new();
    while let Some(s) = p.statement()? {
        stmts.push(s);
    }
    let returns = p.value_list('}', "or `}` after `return`")?;
    p.expect('}', "to close the graph body")?;
    if *p.tok() != Tok::Eof {
        return Err(p.fail("end of input after the graph"));
    }
    build(name, header, stmts, returns)
}

fn build(
    name: String,
    header: Option<Vec<Ref>>,
    stmts: Vec<Stmt>,
    returns: Vec<Ref>,
) -> Result<Graph, IrError> {
    let mut ids: HashMap<String, (ValueId, Pos)> = HashMap::with_capacity(stmts.len());
    for (i, s) in stmts.iter().enumerate() {
        let (n, pos) = (&s.name.0, s.name.1);
        if let Some(&(_, first)) = ids.get(n) {
            return Err(pos.error(format!(
                "value {} is defined twice (first at line {}, column {})",
                value_ref(n),
                first.line,
                first.column
            )));
        }
        ids.insert(n.clone(), (ValueId(i as u32), pos));
    }
    let resolve = |(n, pos): &Ref, user: &str| {
        ids.get(n.as_str()).map(|&(id, _)| id).ok_or_else(|| {
            pos.error(format!("{user} uses {}, which is never defined", value_ref(n)))
        })
    };
    let mut g = Graph { name, ..Graph::default() };
    for (i, s) in stmts.into_iter().enumerate() {
        let id = ValueId(i as u32);
        let def = match s.def {
            Def::Input => {
                g.inputs.push(id);
                ValueDef::Input
            }
            Def::Const(t) => ValueDef::Const(Arc::new(t)),
            Def::Node { op, inputs, node_name } => {
                let user = format!("{} `{}`", op.name(), s.name.0);
                let inputs = inputs.iter().map(|r| resolve(r, &user)).collect::<Result<_, _>>()?;
                g.nodes.push(Node { name: node_name, op, inputs, output: id });
                ValueDef::Node(g.nodes.len() - 1)
            }
        };
        g.values.push(Value { name: s.name.0, ty: s.ty, def });
    }
    if let Some(header) = header {
        g.inputs = header
            .iter()
            .map(|r| resolve(r, "the graph's input list"))
            .collect::<Result<_, _>>()?;
    }
    g.outputs = returns.iter().map(|r| resolve(r, "`return`")).collect::<Result<_, _>>()?;
    Ok(g)
}
