//! Every kind of parse error: where it is reported and what it says.

use qnn_ir::IrError;
use qnn_ir::text::{parse, parse_unverified};

/// A one-node graph around `node` (line 4), with `%x: u8[1,4]` and `%w: i8[2,4]` defined.
fn with_node(node: &str) -> String {
    format!(
        "graph g {{\n  input %x: u8[1,4]\n  const %w: i8[2,4] = [1, 2, 3, 4, 5, 6, 7, 8]\n  {node}\n  return %y\n}}\n"
    )
}

/// Parses `src` (unverified), expects a parse error at `line:column` whose message contains
/// every one of `needles`.
#[track_caller]
fn assert_error(src: &str, line: usize, column: usize, needles: &[&str]) {
    match parse_unverified(src) {
        Err(IrError::Parse { line: l, column: c, msg }) => {
            assert_eq!((l, c), (line, column), "position of `{msg}` in\n{src}");
            for n in needles {
                assert!(msg.contains(n), "`{msg}` should mention `{n}`");
            }
        }
        other => panic!("expected a parse error, got {other:?} for\n{src}"),
    }
}

/// As [`assert_error`], the column being where `marker` first occurs in line `line`.
#[track_caller]
fn assert_error_at(src: &str, line: usize, marker: &str, needles: &[&str]) {
    let text = src.lines().nth(line - 1).expect("line exists");
    let byte = text.find(marker).unwrap_or_else(|| panic!("`{marker}` not in `{text}`"));
    assert_error(src, line, text[..byte].chars().count() + 1, needles);
}

#[test]
fn lexical_errors() {
    assert_error("graph g {\n  input %x: u8[1] $\n", 2, 19, &["unexpected character '$'"]);
    assert_error("graph \"open", 1, 7, &["unterminated string"]);
    assert_error("graph \"a\\qb\" {}", 1, 7, &["unknown escape `\\q`"]);
    assert_error("graph g {\n  input % x", 2, 9, &["expected a name after `%`", "' '"]);
    assert_error("graph g {\n  input %\"\\u{d800}\"", 2, 9, &["not a Unicode scalar value"]);
    assert_error("graph g {\n  input %x: u8[- 1]", 2, 16, &["expected a number after `-`"]);
}

#[test]
fn structural_errors() {
    assert_error("", 1, 1, &["expected `graph` at the start", "end of input"]);
    assert_error("grap g {}", 1, 1, &["expected `graph`", "`grap`"]);
    assert_error("graph {", 1, 7, &["expected a graph name", "`{`"]);
    assert_error("graph g\n  input", 2, 3, &["expected `{` to open the graph body", "`input`"]);
    assert_error("graph g {\n  inptu %x: u8[1]", 2, 3, &["expected `input`, `const`", "`inptu`"]);
    assert_error("graph g {\n}", 2, 1, &["expected `input`, `const`", "or `return`", "`}`"]);
    assert_error(
        "graph g {\n  return\n",
        3,
        1,
        &["expected a value `%name` or `}` after `return`", "end of input"],
    );
    assert_error("graph g {\n  return\n} extra", 3, 3, &["expected end of input", "`extra`"]);
    assert_error("graph g {\n  return %a %b\n}", 2, 13, &["expected `}`", "value %b"]);
    assert_error("graph g(%x {\n", 1, 12, &["expected `)`", "`{`"]);
}

#[test]
fn type_errors() {
    assert_error("graph g {\n  input %x: u4[1]", 2, 13, &["unknown dtype `u4`", "u8, i8"]);
    assert_error("graph g {\n  input %x u8[1]", 2, 12, &["expected `:` after %x", "`u8`"]);
    assert_error("graph g {\n  input %x: u8(1)", 2, 15, &["expected `[` to open the shape of %x"]);
    assert_error("graph g {\n  input %x: u8[1,-2]", 2, 18, &["expected a dimension of %x", "`-2`"]);
    assert_error(
        "graph g {\n  input %x: u8[1 2]",
        2,
        18,
        &["expected `,` or `]` in the shape of %x"],
    );
    assert_error("graph g {\n  input %x: u8[99999999999999999999999]", 2, 16, &["dimension"]);
}

#[test]
fn constant_errors() {
    let c = |body: &str| format!("graph g {{\n  const %c: {body}\n  return\n}}");
    let src = c("u8[2] = [1, 2, 3]");
    assert_error_at(&src, 2, "3]", &["constant %c", "more than the 2 element(s) of type u8[2]"]);
    let src = c("u8[3] = [1, 2]");
    assert_error_at(&src, 2, "[1", &["constant %c", "2 element(s) given", "u8[3] has 3"]);
    let src = c("u8[2] = [1, 256]");
    assert_error_at(&src, 2, "256", &["constant %c", "256 does not fit u8"]);
    assert_error_at(&c("i8[1] = [-129]"), 2, "-129", &["-129 does not fit i8"]);
    let src = c("i32[1] = [1.5]");
    assert_error_at(&src, 2, "1.5", &["expected an integer element of %c", "`1.5`"]);
    let src = c("f32[1] = [NaN]");
    assert_error_at(&src, 2, "NaN", &["expected an f32 element of %c", "`NaN`"]);
    let src = c("f32[1] = [nan(0x3f800000)]");
    assert_error_at(&src, 2, "0x", &["bits 0x3f800000 are not an f32 NaN"]);
    let src = c("f32[2] = [1.0 2.0]");
    assert_error_at(&src, 2, "2.0", &["expected `,` or `]` between the elements of %c"]);
    let src = c("u8[2] = 1, 2");
    assert_error_at(&src, 2, "1,", &["expected `[` to open the elements of %c"]);
    let src = c("u8[4294967296,4294967296,4294967296] = []");
    assert_error_at(&src, 2, "[]", &["has too many elements"]);
}

#[test]
fn unknown_op() {
    let src = with_node("%y: i32[1,2] = qnn.conv3d(%x, %w)");
    assert_error_at(&src, 4, "qnn", &["unknown op `qnn.conv3d`", "qnn.conv2d", "concatenate"]);
    let src = with_node("%y: i32[1,2] = (%x)");
    assert_error_at(&src, 4, "(", &["expected an op name for %y", "`(`"]);
}

#[test]
fn attribute_errors_name_the_op_and_the_attribute() {
    let dense = |attrs: &str| with_node(&format!("%y: i32[1,2] = qnn.dense(%x, %w) {{{attrs}}}"));
    let src = dense("input = q(0.5, 3)");
    assert_error_at(&src, 4, "qnn", &["qnn.dense `y`", "missing attribute `kernel`"]);
    let src = dense("input = q(0.5, 3), kernel = q(1.0, 0), bias = 1");
    assert_error_at(
        &src,
        4,
        "bias",
        &["qnn.dense `y`", "unknown attribute `bias`", "input, kernel"],
    );
    let src = dense("input = q(0.5, 3), input = q(1.0, 0)");
    assert_error_at(
        &src,
        4,
        "input = q(1",
        &["qnn.dense `y`", "duplicate attribute `input`", "column 37"],
    );
    let src = with_node("%y: i32[1,4] = add(%x, %x) {axis = 1}");
    assert_error_at(
        &src,
        4,
        "axis",
        &["add `y`", "unknown attribute `axis`", "(its attributes: none)"],
    );
    let src = dense("input = 0.5, kernel = q(1.0, 0)");
    let msg =
        ["qnn.dense `y`", "attribute `input`", "expected quantization parameters", "number `0.5`"];
    assert_error_at(&src, 4, "0.5", &msg);
    let src = dense("input = q(0.5, 3, axis=1, axis=2), kernel = q(1.0, 0)");
    assert_error_at(&src, 4, "2)", &["attribute `input`", "`axis` given twice"]);
    let src = dense("input = q(0.5, 3, axes=1), kernel = q(1.0, 0)");
    assert_error_at(&src, 4, "1)", &["unknown argument `axes` of `q(…)` (known: axis)"]);
    let src = dense("input = q(0.5, 3.5), kernel = q(1.0, 0)");
    let msg = ["attribute `input`", "expected an integer in the range of i32", "`3.5`"];
    assert_error_at(&src, 4, "3.5", &msg);
    let src = dense("input = q(0.5, 2147483648), kernel = q(1.0, 0)");
    assert_error_at(&src, 4, "2147", &["an integer in the range of i32", "`2147483648`"]);
    let src = dense("input = q(zero, 0), kernel = q(1.0, 0)");
    assert_error_at(&src, 4, "zero", &["expected an f32 number", "`zero`"]);
    let src = dense("input = q(0.5), kernel = q(1.0, 0)");
    assert_error_at(&src, 4, "q(0.5)", &["expected quantization parameters", "`q(…)`"]);
}

#[test]
fn attribute_value_errors() {
    let conv = |attrs: &str| {
        with_node(&format!(
            "%y: i32[1,2,1,1] = conv2d(%x, %w) {{{attrs}, padding = [0, 0, 0, 0], dilation = [1, 1], groups = 1, kernel_layout = OIHW, pad_value = 0}}"
        ))
    };
    let src = conv("strides = [1, 1, 1], data_layout = NCHW");
    let msg = ["conv2d `y`", "attribute `strides`", "a list of 2 integers", "3 items"];
    assert_error_at(&src, 4, "[1, 1, 1]", &msg);
    let src = conv("strides = [1, -1], data_layout = NCHW");
    assert_error_at(&src, 4, "-1", &["attribute `strides`", "a non-negative integer", "`-1`"]);
    let src = conv("strides = 1, data_layout = NCHW");
    assert_error_at(&src, 4, "1, data", &["attribute `strides`", "expected a list", "number `1`"]);
    let src = conv("strides = [1, 1], data_layout = NCWH");
    let msg = ["conv2d `y`", "attribute `data_layout`", "unknown DataLayout `NCWH`", "NHWC"];
    assert_error_at(&src, 4, "NCWH", &msg);
    let src = conv("strides = [1, 1], data_layout = [NCHW]");
    let msg = ["attribute `data_layout`", "expected a name", "a list of 1 item"];
    assert_error_at(&src, 4, "[NCHW]", &msg);
    let src = conv("strides = [1, 1] data_layout = NCHW");
    let msg = ["expected `,` or `}` after attribute `strides` of conv2d `y`", "`data_layout`"];
    assert_error_at(&src, 4, "data_layout", &msg);
    let src = conv("strides [1, 1], data_layout = NCHW");
    assert_error_at(&src, 4, "[1, 1]", &["expected `=` after attribute `strides`"]);
    let src = conv("strides = [1, 1,], data_layout = NCHW");
    assert_error_at(&src, 4, "],", &["expected an attribute value", "`]`"]);
    let deep = format!("strides = {}1{}, data_layout = NCHW", "[".repeat(40), "]".repeat(40));
    let src = conv(&deep);
    // The 34th `[` is one level too deep.
    assert_error_at(&src, 4, &format!("{}1", "[".repeat(7)), &["nested deeper than 32 levels"]);

    let rq = |scale: &str| {
        with_node(&format!(
            "%y: u8[1,4] = requantize(%x) {{scale = {scale}, axes = [], input_zero_point = 0, output_zero_point = 0, out_dtype = u8}}"
        ))
    };
    let src = rq("fixed(nearest, (1073741824, 0))");
    let msg = ["requantize `y`", "attribute `scale`", "unknown FixedRounding `nearest`"];
    assert_error_at(&src, 4, "nearest", &msg);
    let src = rq("fixed(upward, (1073741824))");
    let msg = ["a fixed-point multiplier `(multiplier, shift)`", "a tuple of 1 item"];
    assert_error_at(&src, 4, "(1073741824)", &msg);
    let src = rq("double([0.5])");
    assert_error_at(&src, 4, "double", &["attribute `scale`", "`fixed(rounding", "`double(…)`"]);
    let src = rq("float(nan(1))");
    assert_error_at(&src, 4, "1)", &["attribute `scale`", "bits of an f32 NaN", "`1`"]);
    let src = with_node("%y: u8[1,4] = cast(%x) {to = bool}");
    assert_error_at(&src, 4, "bool", &["cast `y`", "attribute `to`", "unknown dtype `bool`"]);
    let src = with_node("%y: i32[1] = sum(%x) {axes = [1], keepdims = yes}");
    let msg = ["sum `y`", "attribute `keepdims`", "`true` or `false`", "`yes`"];
    assert_error_at(&src, 4, "yes", &msg);
}

#[test]
fn name_errors() {
    let src = "graph g {\n  input %x: u8[1]\n  input %x: u8[2]\n  return\n}";
    assert_error_at(src, 3, "%x", &["value %x is defined twice", "first at line 2, column 9"]);
    let src = with_node("%y: u8[1,4] = add(%x, %nope)");
    assert_error_at(&src, 4, "%nope", &["add `y` uses %nope, which is never defined"]);
    let src = "graph g {\n  input %x: u8[1]\n  return %x, %\"z z\"\n}";
    assert_error_at(src, 3, "%\"", &["`return` uses %\"z z\", which is never defined"]);
    let src = "graph g(%x, %q) {\n  input %x: u8[1]\n  return\n}";
    assert_error_at(src, 1, "%q", &["the graph's input list uses %q, which is never defined"]);
    let src = with_node("%y: u8[1,4] = add(%x, %x) @");
    assert_error_at(&src, 4, "@", &["expected a name after `@`", "'\\n'"]);
}

#[test]
fn verification_errors_come_from_the_verifier() {
    // Well-formed text of an ill-typed graph: parse_unverified accepts it, parse rejects it
    // with the verifier's error.
    let src = with_node("%y: i32[1,2] = qnn.dense(%x, %w) {input = q(0.5, 3), kernel = q(1.0, 0)}");
    assert!(parse(&src).is_ok());
    let bad_type = src.replace("%y: i32[1,2]", "%y: i32[1,3]");
    assert!(parse_unverified(&bad_type).is_ok());
    let err = parse(&bad_type).unwrap_err();
    assert!(matches!(err, IrError::TypeMismatch { .. }), "{err}");
    let bad_zp = src.replace("q(0.5, 3)", "q(0.5, 300)");
    let err = parse(&bad_zp).unwrap_err();
    assert!(matches!(err, IrError::ZeroPointOutOfRange { value: 300, .. }), "{err}");
    assert!(err.to_string().contains("qnn.dense `y`"), "{err}");
    let nan_scale = src.replace("q(1.0, 0)", "q(nan, 0)");
    assert!(matches!(parse(&nan_scale), Err(IrError::BadScale { .. })));
    // Inputs and constants are visible everywhere; a node output only after its node.
    let forward = "graph g {\n  input %b: i32[1]\n  %a: i32[1] = add(%c, %b)\n  %c: i32[1] = add(%b, %b)\n  return %a\n}";
    assert!(parse_unverified(forward).is_ok());
    let err = parse(forward).unwrap_err();
    assert!(matches!(err, IrError::Undefined { .. }), "{err}");
}
