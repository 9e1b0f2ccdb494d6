//! Element types.

use std::fmt;
use std::str::FromStr;

/// The element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    U8,
    I8,
    I16,
    I32,
    F32,
}

impl DType {
    pub const ALL: [DType; 5] = [DType::U8, DType::I8, DType::I16, DType::I32, DType::F32];

    /// Short name used in the text form and in errors (`u8`, `i8`, …).
    pub const fn name(self) -> &'static str {
        match self {
            DType::U8 => "u8",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::F32 => "f32",
        }
    }

    pub const fn is_integer(self) -> bool {
        !matches!(self, DType::F32)
    }

    /// 8-bit types: the operands of an int8 dot product.
    pub const fn is_8bit(self) -> bool {
        matches!(self, DType::U8 | DType::I8)
    }

    pub const fn size_bytes(self) -> usize {
        match self {
            DType::U8 | DType::I8 => 1,
            DType::I16 => 2,
            DType::I32 | DType::F32 => 4,
        }
    }

    /// Inclusive value range of an integer type; `None` for `f32`.
    pub const fn int_range(self) -> Option<(i64, i64)> {
        match self {
            DType::U8 => Some((0, 255)),
            DType::I8 => Some((-128, 127)),
            DType::I16 => Some((i16::MIN as i64, i16::MAX as i64)),
            DType::I32 => Some((i32::MIN as i64, i32::MAX as i64)),
            DType::F32 => None,
        }
    }

    /// True when `v` is a value of this integer type (always false for `f32`).
    pub fn contains(self, v: i64) -> bool {
        self.int_range().is_some_and(|(lo, hi)| lo <= v && v <= hi)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DType::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("unknown dtype `{s}` (known: u8, i8, i16, i32, f32)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in DType::ALL {
            assert_eq!(d.name().parse::<DType>().unwrap(), d);
        }
        assert!("u4".parse::<DType>().is_err());
    }

    #[test]
    fn ranges() {
        assert!(DType::U8.contains(255) && !DType::U8.contains(256) && !DType::U8.contains(-1));
        assert!(DType::I8.contains(-128) && !DType::I8.contains(128));
        assert!(!DType::F32.contains(0));
    }
}
