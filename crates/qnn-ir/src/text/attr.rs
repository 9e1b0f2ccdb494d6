//! Attribute values: their syntax tree, and how each attribute type prints and parses.
//!
//! ```text
//! value := number | word | word '(' args ')' | '[' values ']' | '(' values ')'
//! args  := (value | word '=' value), …
//! ```
//!
//! Typed forms: integers `3`, floats `0.25` / `inf` / `nan(0x…)`, booleans `true`/`false`,
//! dtypes `u8`, enums `NCHW` / `tonearest`, lists `[1, 1]`, quantization parameters
//! `q(scale, zero_point)` or `q([s0, s1], [z0, z1], axis=1)` (a single value stands for a
//! one-element list), requantize multipliers `fixed(rounding, [(multiplier, shift), …])` and
//! `float([m0, m1])`.

use std::str::FromStr;

use super::lexer::Pos;
use super::literal::{fmt_f32, nan_f32, nan_f64, parse_f32, parse_f64, parse_int};
use crate::error::IrError;
use crate::ops::{FixedPointMultiplier, FixedRounding, RequantScale};
use crate::quant::QuantParams;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Attr {
    Num(String),
    Word(String),
    List(Vec<Spanned>),
    Tuple(Vec<Spanned>),
    Call { name: String, args: Vec<Spanned>, named: Vec<(String, Spanned)> },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned {
    pub pos: Pos,
    pub attr: Attr,
}

/// What an error is about: the op (with its node) and the attribute.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub op: &'a str,
    pub attr: &'a str,
}

impl Attr {
    fn describe(&self) -> String {
        let n = |k: usize| if k == 1 { "1 item".to_string() } else { format!("{k} items") };
        match self {
            Attr::Num(s) => format!("number `{s}`"),
            Attr::Word(s) => format!("`{s}`"),
            Attr::List(v) => format!("a list of {}", n(v.len())),
            Attr::Tuple(v) => format!("a tuple of {}", n(v.len())),
            Attr::Call { name, .. } => format!("`{name}(…)`"),
        }
    }
}

impl Spanned {
    fn fail(&self, cx: Ctx<'_>, expected: &str) -> IrError {
        self.pos.error(format!(
            "{}: attribute `{}`: expected {expected}, found {}",
            cx.op,
            cx.attr,
            self.attr.describe()
        ))
    }

    fn int(&self, cx: Ctx<'_>, what: &str) -> Result<i128, IrError> {
        match &self.attr {
            Attr::Num(t) => parse_int(t).ok_or_else(|| self.fail(cx, what)),
            _ => Err(self.fail(cx, what)),
        }
    }

    pub fn usize(&self, cx: Ctx<'_>) -> Result<usize, IrError> {
        const WHAT: &str = "a non-negative integer";
        usize::try_from(self.int(cx, WHAT)?).map_err(|_| self.fail(cx, WHAT))
    }

    pub fn i32(&self, cx: Ctx<'_>) -> Result<i32, IrError> {
        const WHAT: &str = "an integer in the range of i32";
        i32::try_from(self.int(cx, WHAT)?).map_err(|_| self.fail(cx, WHAT))
    }

    pub fn i64(&self, cx: Ctx<'_>) -> Result<i64, IrError> {
        const WHAT: &str = "an integer in the range of i64";
        i64::try_from(self.int(cx, WHAT)?).map_err(|_| self.fail(cx, WHAT))
    }

    pub fn f32(&self, cx: Ctx<'_>) -> Result<f32, IrError> {
        self.float(cx, "an f32 number", parse_f32, nan_f32)
    }

    pub fn f64(&self, cx: Ctx<'_>) -> Result<f64, IrError> {
        self.float(cx, "an f64 number", parse_f64, nan_f64)
    }

    fn float<T>(
        &self,
        cx: Ctx<'_>,
        what: &str,
        parse: fn(&str) -> Option<T>,
        nan: fn(&str) -> Result<T, String>,
    ) -> Result<T, IrError> {
        match &self.attr {
            Attr::Num(t) | Attr::Word(t) => parse(t).ok_or_else(|| self.fail(cx, what)),
            Attr::Call { name, args, named } if name == "nan" && named.is_empty() => {
                match args.as_slice() {
                    [Spanned { attr: Attr::Num(bits), pos }] => nan(bits).map_err(|msg| {
                        pos.error(format!("{}: attribute `{}`: {msg}", cx.op, cx.attr))
                    }),
                    _ => Err(self.fail(cx, "`nan(0x…)` with the bits of a NaN")),
                }
            }
            _ => Err(self.fail(cx, what)),
        }
    }

    pub fn bool(&self, cx: Ctx<'_>) -> Result<bool, IrError> {
        match &self.attr {
            Attr::Word(w) if w == "true" => Ok(true),
            Attr::Word(w) if w == "false" => Ok(false),
            _ => Err(self.fail(cx, "`true` or `false`")),
        }
    }

    /// A named enum value (`NCHW`, `u8`, `tonearest`) through its `FromStr`.
    pub fn named<T: FromStr<Err = String>>(&self, cx: Ctx<'_>) -> Result<T, IrError> {
        match &self.attr {
            Attr::Word(w) => w.parse().map_err(|e: String| {
                self.pos.error(format!("{}: attribute `{}`: {e}", cx.op, cx.attr))
            }),
            _ => Err(self.fail(cx, "a name")),
        }
    }

    /// `[a, b, …]` with every element read by `elem`.
    pub fn list<T>(
        &self,
        cx: Ctx<'_>,
        elem: impl Fn(&Spanned, Ctx<'_>) -> Result<T, IrError>,
    ) -> Result<Vec<T>, IrError> {
        match &self.attr {
            Attr::List(items) => items.iter().map(|i| elem(i, cx)).collect(),
            _ => Err(self.fail(cx, "a list `[…]`")),
        }
    }

    /// `[a, b]` with exactly `N` integers.
    pub fn usizes<const N: usize>(&self, cx: Ctx<'_>) -> Result<[usize; N], IrError> {
        let v = self.list(cx, Spanned::usize)?;
        <[usize; N]>::try_from(v).map_err(|_| self.fail(cx, &format!("a list of {N} integers")))
    }

    /// A single value, or a list of them (`0.5` is the same as `[0.5]`).
    fn one_or_list<T>(
        &self,
        cx: Ctx<'_>,
        elem: impl Fn(&Spanned, Ctx<'_>) -> Result<T, IrError>,
    ) -> Result<Vec<T>, IrError> {
        match &self.attr {
            Attr::List(_) => self.list(cx, elem),
            _ => Ok(vec![elem(self, cx)?]),
        }
    }

    /// `q(scale, zero_point)` or `q(scales, zero_points, axis=a)`.
    pub fn quant(&self, cx: Ctx<'_>) -> Result<QuantParams, IrError> {
        const WHAT: &str = "quantization parameters `q(scale, zero_point)` or `q([scales], [zero_points], axis=a)`";
        let Attr::Call { name, args, named } = &self.attr else { return Err(self.fail(cx, WHAT)) };
        let [scale, zero_point] = args.as_slice() else { return Err(self.fail(cx, WHAT)) };
        if name != "q" {
            return Err(self.fail(cx, WHAT));
        }
        let mut axis = None;
        for (key, v) in named {
            match key.as_str() {
                "axis" if axis.is_none() => axis = Some(v.usize(cx)?),
                "axis" => {
                    return Err(v.pos.error(format!(
                        "{}: attribute `{}`: `axis` given twice in `q(…)`",
                        cx.op, cx.attr
                    )));
                }
                other => {
                    return Err(v.pos.error(format!(
                        "{}: attribute `{}`: unknown argument `{other}` of `q(…)` (known: axis)",
                        cx.op, cx.attr
                    )));
                }
            }
        }
        Ok(QuantParams {
            scale: scale.one_or_list(cx, Spanned::f32)?,
            zero_point: zero_point.one_or_list(cx, Spanned::i32)?,
            axis,
        })
    }

    /// `fixed(rounding, [(multiplier, shift), …])` or `float([m, …])`.
    pub fn requant_scale(&self, cx: Ctx<'_>) -> Result<RequantScale, IrError> {
        const WHAT: &str =
            "`fixed(rounding, [(multiplier, shift), …])` or `float([multiplier, …])`";
        let Attr::Call { name, args, named } = &self.attr else { return Err(self.fail(cx, WHAT)) };
        if !named.is_empty() {
            return Err(self.fail(cx, WHAT));
        }
        match (name.as_str(), args.as_slice()) {
            ("fixed", [rounding, mults]) => Ok(RequantScale::Fixed {
                rounding: rounding.named::<FixedRounding>(cx)?,
                mults: mults.one_or_list(cx, Spanned::fixed_point)?,
            }),
            ("float", [mults]) => {
                Ok(RequantScale::Float { mults: mults.one_or_list(cx, Spanned::f32)? })
            }
            _ => Err(self.fail(cx, WHAT)),
        }
    }

    fn fixed_point(&self, cx: Ctx<'_>) -> Result<FixedPointMultiplier, IrError> {
        match &self.attr {
            Attr::Tuple(t) if t.len() == 2 => {
                Ok(FixedPointMultiplier { multiplier: t[0].i32(cx)?, shift: t[1].i32(cx)? })
            }
            _ => Err(self.fail(cx, "a fixed-point multiplier `(multiplier, shift)`")),
        }
    }
}

// ---- printing -------------------------------------------------------------------------

/// `[a, b, c]`.
pub(crate) fn fmt_list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    let mut s = String::from("[");
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&f(x));
    }
    s.push(']');
    s
}

/// One value bare, any other number of values as a list.
fn fmt_one_or_list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    match items {
        [one] => f(one),
        _ => fmt_list(items, f),
    }
}

pub(crate) fn fmt_usizes(items: &[usize]) -> String {
    fmt_list(items, usize::to_string)
}

pub(crate) fn fmt_quant(q: &QuantParams) -> String {
    let scale = fmt_one_or_list(&q.scale, |&s| fmt_f32(s));
    let zero_point = fmt_one_or_list(&q.zero_point, i32::to_string);
    match q.axis {
        None => format!("q({scale}, {zero_point})"),
        Some(a) => format!("q({scale}, {zero_point}, axis={a})"),
    }
}

pub(crate) fn fmt_requant_scale(s: &RequantScale) -> String {
    match s {
        RequantScale::Fixed { mults, rounding } => {
            let m = fmt_one_or_list(mults, |m| format!("({}, {})", m.multiplier, m.shift));
            format!("fixed({rounding}, {m})")
        }
        RequantScale::Float { mults } => {
            format!("float({})", fmt_one_or_list(mults, |&m| fmt_f32(m)))
        }
    }
}
