//! Number literals: every value prints exactly and parses back to the same bits.
//!
//! Finite floats use Rust's shortest round-trip formatting (`0.1`, `1e-7`, `-0.0`); the
//! infinities print as `inf` / `-inf`; the canonical quiet NaN as `nan`, any other NaN as
//! `nan(0x…)` with its bit pattern, so that even payloads survive.

/// Bits of the NaN written `nan`.
const F32_NAN: u32 = 0x7fc0_0000;
const F64_NAN: u64 = 0x7ff8_0000_0000_0000;

pub(crate) fn fmt_f32(x: f32) -> String {
    if x.is_nan() {
        if x.to_bits() == F32_NAN { "nan".into() } else { format!("nan(0x{:08x})", x.to_bits()) }
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:?}")
    }
}

pub(crate) fn fmt_f64(x: f64) -> String {
    if x.is_nan() {
        if x.to_bits() == F64_NAN { "nan".into() } else { format!("nan(0x{:016x})", x.to_bits()) }
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:?}")
    }
}

/// A float written as a number or as the word `inf`/`nan`; `None` when `text` is not one.
/// NaNs with a payload are handled by the caller (`nan(0x…)`, see [`nan_f32`]).
fn parse_float<T: std::str::FromStr>(text: &str, nan: T) -> Option<T> {
    match text {
        "nan" => Some(nan),
        t if t.starts_with('+') => None,
        // Rust would also accept `NaN`, `-nan`, `infinity`: keep one spelling per value.
        t if t.chars().any(|c| c.is_ascii_alphabetic() && !matches!(c, 'e' | 'E'))
            && !matches!(t, "inf" | "-inf") =>
        {
            None
        }
        t => t.parse().ok(),
    }
}

pub(crate) fn parse_f32(text: &str) -> Option<f32> {
    parse_float(text, f32::from_bits(F32_NAN))
}

pub(crate) fn parse_f64(text: &str) -> Option<f64> {
    parse_float(text, f64::from_bits(F64_NAN))
}

/// The NaN with bit pattern `hex` (`0x…`), or an error message.
pub(crate) fn nan_f32(hex: &str) -> Result<f32, String> {
    let bits =
        hex.strip_prefix("0x").and_then(|h| u32::from_str_radix(h, 16).ok()).ok_or_else(|| {
            format!("expected the bits of an f32 NaN as `0x` and 8 hex digits, found `{hex}`")
        })?;
    let x = f32::from_bits(bits);
    if x.is_nan() { Ok(x) } else { Err(format!("bits {hex} are not an f32 NaN")) }
}

pub(crate) fn nan_f64(hex: &str) -> Result<f64, String> {
    let bits =
        hex.strip_prefix("0x").and_then(|h| u64::from_str_radix(h, 16).ok()).ok_or_else(|| {
            format!("expected the bits of an f64 NaN as `0x` and 16 hex digits, found `{hex}`")
        })?;
    let x = f64::from_bits(bits);
    if x.is_nan() { Ok(x) } else { Err(format!("bits {hex} are not an f64 NaN")) }
}

/// A decimal integer (`-12`, `255`), wide enough for every `i64` and `u64`; `None` when
/// `text` is not one.
pub(crate) fn parse_int(text: &str) -> Option<i128> {
    if text.starts_with('+') {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_trip_bit_exactly() {
        let xs = [0.0, -0.0, 0.1, 1.0, -2.5, 1e-7, 3.4028235e38, 1e-45, f32::EPSILON, f32::MIN];
        for x in xs {
            assert_eq!(parse_f32(&fmt_f32(x)).map(f32::to_bits), Some(x.to_bits()), "{x}");
            let y = f64::from(x) / 3.0;
            assert_eq!(parse_f64(&fmt_f64(y)).map(f64::to_bits), Some(y.to_bits()), "{y}");
        }
        assert_eq!(fmt_f32(f32::INFINITY), "inf");
        assert_eq!(parse_f32("-inf"), Some(f32::NEG_INFINITY));
        assert_eq!(fmt_f32(f32::from_bits(F32_NAN)), "nan");
        assert_eq!(parse_f32("nan").map(f32::to_bits), Some(F32_NAN));
        let payload = f32::from_bits(0xffc0_0001);
        assert_eq!(fmt_f32(payload), "nan(0xffc00001)");
        assert_eq!(nan_f32("0xffc00001").map(f32::to_bits), Ok(0xffc0_0001));
        assert!(nan_f32("0x3f800000").is_err());
        assert_eq!(fmt_f64(f64::from_bits(F64_NAN + 5)), "nan(0x7ff8000000000005)");
    }

    #[test]
    fn one_spelling_per_value() {
        for t in ["NaN", "infinity", "-nan", "1x", "+1", "", "e"] {
            assert_eq!(parse_f32(t), None, "{t}");
        }
        assert_eq!(parse_int("+1"), None);
        assert_eq!(parse_int("-128"), Some(-128));
        assert_eq!(parse_int("1.0"), None);
        assert_eq!(parse_int(&u64::MAX.to_string()), Some(u64::MAX.into()));
    }
}
