//! The parser never panics: random bytes, random token soup and random edits of real
//! printed graphs all come back as `Ok` or `Err`.

mod text_common;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use qnn_ir::text::{parse, parse_unverified, print};
use text_common::{cases, families};

/// Fragments of the grammar, valid and not, so that random text gets past the first token.
const PIECES: &[&str] = &[
    "graph",
    "g",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    ":",
    "@n",
    "%x",
    "%y",
    "%\"a b\"",
    "input",
    "const",
    "return",
    "u8",
    "i8",
    "i16",
    "i32",
    "f32",
    "u8[1,4]",
    "i32[]",
    "0",
    "1",
    "-1",
    "255",
    "0.5",
    "-inf",
    "nan",
    "nan(0x7fc00001)",
    "1e-7",
    "99999999999999999999999",
    "18446744073709551615",
    "4294967296",
    "q(0.5, 3)",
    "q([0.1, 0.2], [0], axis=1)",
    "fixed(upward, (1073741824, 0))",
    "float(0.5)",
    "add",
    "qnn.conv2d",
    "conv2d",
    "requantize",
    "strides",
    "NCHW",
    "OIHW",
    "true",
    "//",
    "\n",
    "\"",
    "\\",
    "-",
    "é",
    "\u{0}",
];

/// Random edits: insert, delete or replace a stretch of text.
#[derive(Debug, Clone)]
enum Edit {
    Insert(Index, &'static str),
    Delete(Index, usize),
    Replace(Index, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), select(PIECES)).prop_map(|(i, p)| Edit::Insert(i, p)),
        (any::<Index>(), 1usize..20).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<Index>(), any::<char>()).prop_map(|(i, c)| Edit::Replace(i, c)),
    ]
}

/// Applies `e` at a char boundary of `s`.
fn apply(s: &mut String, e: &Edit) {
    let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
    match *e {
        Edit::Insert(i, p) => s.insert_str(bounds[i.index(bounds.len())], p),
        Edit::Delete(i, n) => {
            let k = i.index(bounds.len());
            let end = bounds[(k + n).min(bounds.len() - 1)];
            s.replace_range(bounds[k]..end, "");
        }
        Edit::Replace(i, c) if bounds.len() > 1 => {
            let k = i.index(bounds.len() - 1);
            s.replace_range(bounds[k]..bounds[k + 1], c.encode_utf8(&mut [0; 4]));
        }
        Edit::Replace(..) => s.push(match e {
            Edit::Replace(_, c) => *c,
            _ => ' ',
        }),
    }
}

/// Both parsers return (whatever they return) and a successful parse prints back to text that
/// parses to the same graph.
fn exercise(src: &str) -> Result<(), TestCaseError> {
    let _ = parse(src);
    if let Ok(g) = parse_unverified(src) {
        let again = parse_unverified(&print(&g));
        prop_assert!(again.is_ok(), "{:?}", again);
        prop_assert_eq!(print(&again.unwrap()), print(&g));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(512)))]

    #[test]
    fn random_bytes(bytes in vec(any::<u8>(), 0..300)) {
        exercise(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn token_soup(pieces in vec(select(PIECES), 0..80), glue in vec(select(vec![" ", "", "\n"]), 80)) {
        let src: String = pieces.iter().zip(&glue).flat_map(|(p, g)| [*p, *g]).collect();
        exercise(&src)?;
        exercise(&format!("graph g {{\n{src}\n  return\n}}"))?;
    }

    #[test]
    fn edited_graphs(which in any::<Index>(), edits in vec(edit(), 1..6), cut in any::<Index>()) {
        let graphs = families();
        let mut src = print(&graphs[which.index(graphs.len())]);
        for e in &edits {
            apply(&mut src, e);
        }
        exercise(&src)?;
        let bounds: Vec<usize> = src.char_indices().map(|(i, _)| i).collect();
        if !bounds.is_empty() {
            exercise(&src[..bounds[cut.index(bounds.len())]])?;
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "thousands of whole-graph parses take hours under Miri; the random tests above run the same parser code"
)]
fn every_line_prefix_of_every_family() {
    for g in families() {
        let text = print(&g);
        let mut end = 0;
        for line in text.split_inclusive('\n') {
            end += line.len();
            let prefix = &text[..end];
            assert!(parse(prefix).is_err() || end == text.len(), "prefix parsed:\n{prefix}");
        }
    }
}
