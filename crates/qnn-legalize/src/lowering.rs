//! The two lowerings of `qnn.conv2d` / `qnn.dense` (ARCHITECTURE.md §4).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a quantized conv2d or dense becomes core ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Lowering {
    /// `Y = T1 − T2 − T3 + T4`: convolve the raw 8-bit operands into int32, then correct with
    /// a folded per-channel constant (−T2 + T4 + bias) and, when a weight zero point is
    /// nonzero, the data window sums T3. Fast with an int8 dot product (VNNI, sdot/udot, dp4a).
    Int8ZeroPointTerms,
    /// `Y = conv(int16(P) − a, int16(W) − w_k)`: subtract the zero points first, convolve in
    /// int16 → int32. No correction terms; int16 weights take twice the memory.
    Int16Upcast,
}

impl Lowering {
    pub const ALL: [Lowering; 2] = [Lowering::Int8ZeroPointTerms, Lowering::Int16Upcast];

    /// Stable short name (`int8-terms`, `int16-upcast`), used in reports and on command lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            Lowering::Int8ZeroPointTerms => "int8-terms",
            Lowering::Int16Upcast => "int16-upcast",
        }
    }
}

impl fmt::Display for Lowering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Lowering {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "int8-terms" | "int8" | "Int8ZeroPointTerms" => Ok(Lowering::Int8ZeroPointTerms),
            "int16-upcast" | "int16" | "Int16Upcast" => Ok(Lowering::Int16Upcast),
            _ => Err(format!("unknown lowering `{s}` (known: int8-terms, int16-upcast)")),
        }
    }
}
