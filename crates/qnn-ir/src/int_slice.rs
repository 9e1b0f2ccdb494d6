//! Integer values read at their element type: conv/dense weights travel from the file to the
//! packed panels as u8/i8/i16 (never a widened `i32`/`i64` copy of the whole tensor), and
//! whoever needs wider arithmetic widens one element at a time.

use crate::DType;
use crate::tensor::Tensor;

/// A borrowed run of integers of one element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntSlice<'a> {
    U8(&'a [u8]),
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
}

/// Applies `$body` to the inner slice of an [`IntSlice`], whatever its element type (one
/// monomorphized loop per type instead of a `match` per element).
#[macro_export]
macro_rules! with_ints {
    ($slice:expr, $s:ident => $body:expr) => {
        match $slice {
            $crate::IntSlice::U8($s) => $body,
            $crate::IntSlice::I8($s) => $body,
            $crate::IntSlice::I16($s) => $body,
            $crate::IntSlice::I32($s) => $body,
        }
    };
}

// `with_ints!`'s i32 arm widens i32 to itself.
#[allow(clippy::useless_conversion)]
impl<'a> IntSlice<'a> {
    pub fn dtype(&self) -> DType {
        match self {
            IntSlice::U8(_) => DType::U8,
            IntSlice::I8(_) => DType::I8,
            IntSlice::I16(_) => DType::I16,
            IntSlice::I32(_) => DType::I32,
        }
    }

    pub fn len(&self) -> usize {
        with_ints!(self, s => s.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i`, widened.
    #[inline]
    pub fn get(&self, i: usize) -> i32 {
        with_ints!(self, s => i32::from(s[i]))
    }

    /// Elements `start..end`.
    pub fn slice(&self, start: usize, end: usize) -> IntSlice<'a> {
        match *self {
            IntSlice::U8(s) => IntSlice::U8(&s[start..end]),
            IntSlice::I8(s) => IntSlice::I8(&s[start..end]),
            IntSlice::I16(s) => IntSlice::I16(&s[start..end]),
            IntSlice::I32(s) => IntSlice::I32(&s[start..end]),
        }
    }

    /// Smallest and largest element (`None` when empty).
    pub fn min_max(&self) -> Option<(i32, i32)> {
        with_ints!(self, s => {
            let lo = s.iter().copied().min()?;
            let hi = s.iter().copied().max()?;
            Some((i32::from(lo), i32::from(hi)))
        })
    }

    /// The first element outside `dtype`'s range, if any.
    pub fn first_outside(&self, dtype: DType) -> Option<i32> {
        let (lo, hi) = dtype.int_range()?;
        let inside = |v: i32| (lo..=hi).contains(&i64::from(v));
        match self.min_max() {
            Some((a, b)) if !inside(a) || !inside(b) => {
                (0..self.len()).map(|i| self.get(i)).find(|&v| !inside(v))
            }
            _ => None,
        }
    }

    /// Sum of the elements in `i64` (exact below 2^32 elements).
    pub fn sum(&self) -> i64 {
        with_ints!(self, s => s.iter().map(|&v| i64::from(v)).sum())
    }

    /// The elements widened to `i32` (a copy: for callers that keep their own, e.g. a
    /// device backend's upload).
    pub fn to_i32_vec(&self) -> Vec<i32> {
        with_ints!(self, s => s.iter().map(|&v| i32::from(v)).collect())
    }
}

impl<'a> From<&'a [u8]> for IntSlice<'a> {
    fn from(s: &'a [u8]) -> Self {
        IntSlice::U8(s)
    }
}
impl<'a> From<&'a [i8]> for IntSlice<'a> {
    fn from(s: &'a [i8]) -> Self {
        IntSlice::I8(s)
    }
}
impl<'a> From<&'a [i16]> for IntSlice<'a> {
    fn from(s: &'a [i16]) -> Self {
        IntSlice::I16(s)
    }
}
impl<'a> From<&'a [i32]> for IntSlice<'a> {
    fn from(s: &'a [i32]) -> Self {
        IntSlice::I32(s)
    }
}
impl<'a, T> From<&'a Vec<T>> for IntSlice<'a>
where
    IntSlice<'a>: From<&'a [T]>,
{
    fn from(v: &'a Vec<T>) -> Self {
        IntSlice::from(v.as_slice())
    }
}
impl<'a, T, const N: usize> From<&'a [T; N]> for IntSlice<'a>
where
    IntSlice<'a>: From<&'a [T]>,
{
    fn from(v: &'a [T; N]) -> Self {
        IntSlice::from(v.as_slice())
    }
}

impl Tensor {
    /// The elements in row-major order at their own type; `None` for `f32` or an array not
    /// in standard layout.
    pub fn int_slice(&self) -> Option<IntSlice<'_>> {
        Some(match self {
            Tensor::U8(a) => IntSlice::U8(a.as_slice()?),
            Tensor::I8(a) => IntSlice::I8(a.as_slice()?),
            Tensor::I16(a) => IntSlice::I16(a.as_slice()?),
            Tensor::I32(a) => IntSlice::I32(a.as_slice()?),
            Tensor::F32(_) => return None,
        })
    }

    /// The integer tensor of `dtype` and `shape` holding `f(v)` for each element `v` of
    /// `src` (row-major), without an intermediate widened copy. `None` when a value leaves
    /// `dtype` (callers prove the values fit; this keeps a wrong proof from wrapping).
    pub fn map_ints(
        src: IntSlice<'_>,
        dtype: DType,
        shape: &[usize],
        mut f: impl FnMut(usize, i32) -> i32,
    ) -> Option<Tensor> {
        #[allow(clippy::useless_conversion)] // the i32 arm of `with_ints!`
        fn fill<T: TryFrom<i32>>(
            src: IntSlice<'_>,
            f: &mut impl FnMut(usize, i32) -> i32,
        ) -> Option<Vec<T>> {
            let mut out = Vec::with_capacity(src.len());
            with_ints!(src, s => for (i, &v) in s.iter().enumerate() {
                out.push(T::try_from(f(i, i32::from(v))).ok()?);
            });
            Some(out)
        }
        match dtype {
            DType::U8 => Tensor::from_vec(shape, fill::<u8>(src, &mut f)?),
            DType::I8 => Tensor::from_vec(shape, fill::<i8>(src, &mut f)?),
            DType::I16 => Tensor::from_vec(shape, fill::<i16>(src, &mut f)?),
            DType::I32 => Tensor::from_vec(shape, fill::<i32>(src, &mut f)?),
            DType::F32 => return None,
        }
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_widen_one_at_a_time() {
        let s = IntSlice::from(&[-128i8, 5, 127]);
        assert_eq!((s.get(0), s.min_max(), s.sum()), (-128, Some((-128, 127)), 4));
        assert_eq!(s.first_outside(DType::I8), None);
        assert_eq!(s.first_outside(DType::U8), Some(-128));
        assert_eq!(s.slice(1, 3).to_i32_vec(), vec![5, 127]);
        let t = Tensor::map_ints(s, DType::U8, &[3], |_, v| v + 128).unwrap();
        assert_eq!(t, Tensor::from_vec(&[3], vec![0u8, 133, 255]).unwrap());
        // A value that leaves the dtype is refused, never wrapped.
        assert!(Tensor::map_ints(s, DType::U8, &[3], |_, v| v + 127).is_none());
    }
}
