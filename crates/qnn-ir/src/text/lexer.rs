//! Tokens of the text form, and the quoting of names.
//!
//! The lexer hands out one token at a time (the parser looks at most two ahead, so a large
//! constant is never held as tokens). It never fails: a malformed token becomes a
//! [`Tok::Error`] that ends the stream, so that the parser reports whichever problem comes
//! first in the text.

use std::borrow::Cow;

use crate::error::IrError;

/// A position in the text: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// A parse error at this position.
    pub fn error(self, msg: impl Into<String>) -> IrError {
        IrError::Parse { line: self.line, column: self.column, msg: msg.into() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    /// Keyword, op name, dtype, enum name: `[A-Za-z_][A-Za-z0-9_.]*`.
    Ident(&'a str),
    /// A number as written: `-12`, `0.5`, `1e-7`, `-inf`, `0x7fc00001`.
    Number(&'a str),
    /// `%name` or `%"any name"`: a value.
    Value(Cow<'a, str>),
    /// `@name` or `@"any name"`: a node name differing from its value's.
    At(Cow<'a, str>),
    /// `"…"`: a graph name.
    Str(Cow<'a, str>),
    /// One of `{ } ( ) [ ] , = :`.
    Punct(char),
    Eof,
    /// A malformed token; the message says what was wrong.
    Error(String),
}

impl Tok<'_> {
    /// How an error message names the token: "`{`", "number `12`", "end of input".
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Number(s) => format!("number `{s}`"),
            Tok::Value(s) => format!("value {}", value_ref(s)),
            Tok::At(s) => format!("node name @{}", quote_if_needed(s, false)),
            Tok::Str(s) => format!("string {}", quote(s)),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::Eof => "end of input".into(),
            Tok::Error(msg) => msg.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub pos: Pos,
}

/// Characters of a name that needs no quotes (after `%` or `@`).
pub(crate) fn is_plain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// True when `s` can be written without quotes; `ident` also requires a non-digit start
/// (graph names, which share the syntax of keywords).
pub(crate) fn is_plain(s: &str, ident: bool) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        None => false,
        Some(c) if ident && !(c.is_ascii_alphabetic() || c == '_') => false,
        Some(c) => is_plain_char(c) && chars.all(is_plain_char),
    }
}

/// `"…"` with `\\`, `\"` and control characters escaped.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn quote_if_needed(s: &str, ident: bool) -> String {
    if is_plain(s, ident) { s.to_string() } else { quote(s) }
}

/// `%name` as the text form writes a reference to a value.
pub(crate) fn value_ref(name: &str) -> String {
    format!("%{}", quote_if_needed(name, false))
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    /// Byte offset of the next character.
    at: usize,
    line: usize,
    column: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, at: 0, line: 1, column: 1 }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.at..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.src[self.at..].chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, column: self.column }
    }

    fn skip_space_and_comments(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('/') if self.peek2() == Some('/') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                _ => return,
            }
        }
    }

    fn run(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.at;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        &self.src[start..self.at]
    }

    /// `-`? then letters, digits, `_`, `.`, and a sign right after an exponent `e`.
    fn number(&mut self) -> &'a str {
        let start = self.at;
        if self.peek() == Some('-') {
            self.bump();
        }
        let hex = self.src[self.at..].starts_with("0x");
        while let Some(c) = self.peek() {
            let exponent_sign = (c == '-' || c == '+')
                && !hex
                && self.src[..self.at].ends_with(['e', 'E'])
                && self.src[start..self.at].starts_with(|d: char| d == '-' || d.is_ascii_digit());
            if is_plain_char(c) || exponent_sign {
                self.bump();
            } else {
                break;
            }
        }
        &self.src[start..self.at]
    }

    /// The body of a quoted string; the opening `"` is already consumed.
    fn string(&mut self, open: Pos) -> Result<Cow<'a, str>, String> {
        let start = self.at;
        let mut owned: Option<String> = None;
        loop {
            let here = self.at;
            let Some(c) = self.bump() else {
                return Err(format!(
                    "unterminated string starting at line {}, column {}",
                    open.line, open.column
                ));
            };
            match c {
                '"' => {
                    return Ok(match owned {
                        Some(s) => Cow::Owned(s),
                        None => Cow::Borrowed(&self.src[start..here]),
                    });
                }
                '\\' => {
                    let s = owned.get_or_insert_with(|| self.src[start..here].to_string());
                    let esc = match self.bump() {
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('n') => '\n',
                        Some('r') => '\r',
                        Some('t') => '\t',
                        Some('u') => {
                            let bad = "expected `\\u{HEX}` with a Unicode scalar value";
                            if self.bump() != Some('{') {
                                return Err(bad.into());
                            }
                            let hex = self.run(|c| c.is_ascii_hexdigit());
                            if self.bump() != Some('}') || hex.is_empty() || hex.len() > 6 {
                                return Err(bad.into());
                            }
                            let code = u32::from_str_radix(hex, 16).map_err(|_| bad.to_string())?;
                            char::from_u32(code).ok_or_else(|| {
                                format!("`\\u{{{hex}}}` is not a Unicode scalar value")
                            })?
                        }
                        Some(other) => {
                            return Err(format!(
                                "unknown escape `\\{other}` (known: \\\" \\\\ \\n \\r \\t \\u{{HEX}})"
                            ));
                        }
                        None => return Err("unterminated escape at end of input".into()),
                    };
                    s.push(esc);
                }
                c => {
                    if let Some(s) = owned.as_mut() {
                        s.push(c);
                    }
                }
            }
        }
    }

    /// A name after `%` or `@`: plain or quoted.
    fn name(&mut self, sigil: char) -> Result<Cow<'a, str>, String> {
        match self.peek() {
            Some('"') => {
                let open = self.pos();
                self.bump();
                self.string(open)
            }
            Some(c) if is_plain_char(c) => Ok(Cow::Borrowed(self.run(is_plain_char))),
            other => Err(format!(
                "expected a name after `{sigil}` (letters, digits, `_`, `.`, or a quoted string), found {}",
                other.map_or("end of input".to_string(), |c| format!("{c:?}"))
            )),
        }
    }

    /// The next token; after [`Tok::Eof`] or a [`Tok::Error`] the caller must stop.
    pub fn token(&mut self) -> Token<'a> {
        self.skip_space_and_comments();
        let pos = self.pos();
        let Some(c) = self.peek() else { return Token { tok: Tok::Eof, pos } };
        let tok = match c {
            '{' | '}' | '(' | ')' | '[' | ']' | ',' | '=' | ':' => {
                self.bump();
                Tok::Punct(c)
            }
            '%' | '@' => {
                self.bump();
                match self.name(c) {
                    Ok(name) if c == '%' => Tok::Value(name),
                    Ok(name) => Tok::At(name),
                    Err(msg) => Tok::Error(msg),
                }
            }
            '"' => {
                self.bump();
                match self.string(pos) {
                    Ok(s) => Tok::Str(s),
                    Err(msg) => Tok::Error(msg),
                }
            }
            '-' if !self.peek2().is_some_and(|d| d.is_ascii_alphanumeric()) => {
                Tok::Error("expected a number after `-`".into())
            }
            c if c == '-' || c.is_ascii_digit() => Tok::Number(self.number()),
            c if c.is_ascii_alphabetic() || c == '_' => Tok::Ident(self.run(is_plain_char)),
            c => Tok::Error(format!("unexpected character {c:?}")),
        };
        Token { tok, pos }
    }
}

impl Tok<'_> {
    /// True for the last token of a stream.
    pub fn ends(&self) -> bool {
        matches!(self, Tok::Eof | Tok::Error(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All tokens of `src`, up to and including the end of input or the first error.
    fn tokenize(src: &str) -> Vec<Token<'_>> {
        let mut lexer = Lexer::new(src);
        let mut tokens = Vec::new();
        loop {
            let t = lexer.token();
            let end = t.tok.ends();
            tokens.push(t);
            if end {
                return tokens;
            }
        }
    }

    fn kinds(src: &str) -> Vec<Tok<'_>> {
        tokenize(src).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens_and_positions() {
        let toks = tokenize("graph g {\n  %x: u8[1,2] // comment\n  %\"a b\"=-1.5e-7 }");
        let got: Vec<_> = toks.iter().map(|t| (t.tok.clone(), t.pos.line, t.pos.column)).collect();
        assert_eq!(got[0], (Tok::Ident("graph"), 1, 1));
        assert_eq!(got[3], (Tok::Value("x".into()), 2, 3));
        assert_eq!(got[5], (Tok::Ident("u8"), 2, 7));
        assert_eq!(got[11], (Tok::Value("a b".into()), 3, 3));
        assert_eq!(got[13], (Tok::Number("-1.5e-7"), 3, 10));
        assert_eq!(got.last().unwrap().0, Tok::Eof);
    }

    #[test]
    fn numbers() {
        assert_eq!(
            kinds("-inf 0x7fc00001 1e+30 3-4"),
            [
                Tok::Number("-inf"),
                Tok::Number("0x7fc00001"),
                Tok::Number("1e+30"),
                Tok::Number("3"),
                Tok::Number("-4"),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn quoting_round_trips() {
        for name in ["x", "0", "conv1.w", "", "a b", "q\"uo\\te", "new\nline\u{7}", "ünï"] {
            let text = value_ref(name);
            assert_eq!(kinds(&text), [Tok::Value(name.into()), Tok::Eof], "{text}");
        }
        assert_eq!(quote_if_needed("0x", true), "\"0x\"");
        assert_eq!(quote_if_needed("x0", true), "x0");
    }

    #[test]
    fn malformed_tokens_end_the_stream() {
        for src in ["\"open", "%", "% x", "\"\\q\"", "\"\\u{d800}\"", "$", "- 1", "\"\\u{}\""] {
            let toks = kinds(src);
            assert!(matches!(toks.last(), Some(Tok::Error(_))), "{src}: {toks:?}");
        }
    }
}
