//! The `.npy` header: a Python dict literal with `descr`, `fortran_order` and `shape`.

use crate::NpyError;

/// The fields of a `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// NumPy type string (`<f4`, `|u1`, …).
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
}

/// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` (keys in any order,
/// either quote style, trailing commas and padding allowed).
pub fn parse_header(text: &str) -> Result<Header, NpyError> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    p.expect(b'{')?;
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.expect(b':')?;
        match key.as_str() {
            "descr" => descr = Some(p.string()?),
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(bad(&format!("unexpected key `{other}`"))),
        }
        p.skip_ws();
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    match (descr, fortran, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => {
            Ok(Header { descr, fortran_order, shape })
        }
        _ => Err(bad("the header needs `descr`, `fortran_order` and `shape`")),
    }
}

fn bad(msg: &str) -> NpyError {
    NpyError::Format(format!("header: {msg}"))
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        if self.eat(c) { Ok(()) } else { Err(bad(&format!("expected `{}`", c as char))) }
    }

    fn string(&mut self) -> Result<String, NpyError> {
        self.skip_ws();
        let q = *self.s.get(self.i).ok_or_else(|| bad("expected a string"))?;
        if q != b'\'' && q != b'"' {
            return Err(bad("expected a quoted string"));
        }
        let start = self.i + 1;
        let len = self.s[start..].iter().position(|&c| c == q);
        let len = len.ok_or_else(|| bad("unterminated string"))?;
        self.i = start + len + 1;
        String::from_utf8(self.s[start..start + len].to_vec()).map_err(|_| bad("bad string"))
    }

    fn boolean(&mut self) -> Result<bool, NpyError> {
        self.skip_ws();
        for (word, v) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if self.s[self.i..].starts_with(word) {
                self.i += word.len();
                return Ok(v);
            }
        }
        Err(bad("expected True or False"))
    }

    fn tuple(&mut self) -> Result<Vec<usize>, NpyError> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            if self.eat(b')') {
                return Ok(dims);
            }
            self.skip_ws();
            let start = self.i;
            while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
            dims.push(digits.parse().map_err(|_| bad("expected a dimension"))?);
            if !self.eat(b',') {
                self.expect(b')')?;
                return Ok(dims);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let h = parse_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }   \n")
            .unwrap();
        assert_eq!(h, Header { descr: "<f4".into(), fortran_order: false, shape: vec![2, 3] });
        let h =
            parse_header("{\"shape\": (), \"fortran_order\": True, \"descr\": \"|u1\"}").unwrap();
        assert_eq!(h.shape, Vec::<usize>::new());
        assert!(h.fortran_order);
        assert_eq!(
            parse_header("{'descr':'<i4','fortran_order':False,'shape':(7,)}").unwrap().shape,
            [7]
        );
        for bad in ["", "{", "{'descr': '<f4'}", "{'shape': (2, x)}", "{'descr': 3}", "{'x': 1}"] {
            assert!(parse_header(bad).is_err(), "{bad}");
        }
    }
}
