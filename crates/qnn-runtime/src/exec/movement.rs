//! Running the data movement steps: `transpose`, `concatenate` and a nearest `resize` (byte
//! copies; `reshape` is a plain copy).

use std::sync::Mutex;

use qnn_kernels::{KernelError, ThreadPool};

use crate::program::movement::{ResizeNearest, Transpose};

impl Transpose {
    pub(crate) fn run(&self, input: &[u8], out: &mut [u8]) {
        if self.trivial {
            out.copy_from_slice(input);
            return;
        }
        match self.elem {
            1 => self.typed::<1>(input, out),
            2 => self.typed::<2>(input, out),
            _ => self.typed::<4>(input, out),
        }
    }

    fn typed<const E: usize>(&self, input: &[u8], out: &mut [u8]) {
        let rank = self.shape.len();
        let row_major = |shape: &[usize]| {
            let mut st = vec![1usize; shape.len()];
            for a in (0..shape.len().saturating_sub(1)).rev() {
                st[a] = st[a + 1] * shape[a + 1];
            }
            st
        };
        let out_shape: Vec<usize> = self.perm.iter().map(|&a| self.shape[a]).collect();
        let (in_st, out_st) = (row_major(&self.shape), row_major(&out_shape));
        // Output axis i reads input axis perm[i]: input stride per output axis, and output
        // stride per input axis.
        let in_per_out: Vec<usize> = self.perm.iter().map(|&a| in_st[a]).collect();
        let mut out_per_in = vec![0usize; rank];
        for (i, &a) in self.perm.iter().enumerate() {
            out_per_in[a] = out_st[i];
        }
        // Walk the tensor whose last axis is longer, so the inner loop is long: contiguous
        // writes (output order) or contiguous reads (input order, e.g. NCHW → NHWC with
        // three channels).
        let (walk_shape, read, write) = if out_shape[rank - 1] >= self.shape[rank - 1] {
            (out_shape.clone(), in_per_out, out_st)
        } else {
            (self.shape.clone(), in_st, out_per_in)
        };
        let inner = walk_shape[rank - 1];
        let (rs, ws) = (read[rank - 1], write[rank - 1]);
        let rows: usize = walk_shape[..rank - 1].iter().product();
        let mut idx = vec![0usize; rank - 1];
        for _ in 0..rows {
            let r0: usize = idx.iter().zip(&read).map(|(i, s)| i * s).sum();
            let w0: usize = idx.iter().zip(&write).map(|(i, s)| i * s).sum();
            for k in 0..inner {
                let (r, w) = ((r0 + k * rs) * E, (w0 + k * ws) * E);
                out[w..w + E].copy_from_slice(&input[r..r + E]);
            }
            for a in (0..rank - 1).rev() {
                idx[a] += 1;
                if idx[a] < walk_shape[a] {
                    break;
                }
                idx[a] = 0;
            }
        }
    }
}

/// `concatenate` along `axis` of tensors with these shapes (elements of `elem` bytes).
pub(crate) fn concatenate(
    shapes: &[Vec<usize>],
    axis: usize,
    elem: usize,
    inputs: &[&[u8]],
    out: &mut [u8],
) {
    let outer: usize = shapes[0][..axis].iter().product();
    let blocks: Vec<usize> =
        shapes.iter().map(|s| s[axis..].iter().product::<usize>() * elem).collect();
    let total: usize = blocks.iter().sum();
    for o in 0..outer {
        let mut at = o * total;
        for (x, &b) in inputs.iter().zip(&blocks) {
            out[at..at + b].copy_from_slice(&x[o * b..(o + 1) * b]);
            at += b;
        }
    }
}

/// Outputs smaller than this are resized on the calling thread only.
const PARALLEL_BYTES: usize = 64 * 1024;

/// A nearest `resize` (see [`ResizeNearest`]): each output row is its input row's runs in
/// the order of the last changed axis; rows are split over the pool when the output is large.
pub(crate) fn resize_nearest(
    r: &ResizeNearest,
    input: &[u8],
    out: &mut [u8],
    pool: &ThreadPool,
) -> Result<(), KernelError> {
    let row = r.row_bytes();
    let fill_rows = |rows: std::ops::Range<usize>, out: &mut [u8]| {
        for (src, dst) in r.rows[rows].iter().zip(out.chunks_exact_mut(row.max(1))) {
            for (col, d) in r.cols.iter().zip(dst.chunks_exact_mut(r.run.max(1))) {
                match (src, col) {
                    (Some(s), Some(c)) => d.copy_from_slice(&input[s + c..s + c + r.run]),
                    _ => d.copy_from_slice(&r.fill),
                }
            }
        }
    };
    let n = r.rows.len();
    let tasks = if out.len() >= PARALLEL_BYTES { pool.threads().min(n).max(1) } else { 1 };
    if tasks == 1 || row == 0 {
        fill_rows(0..n, out);
        return Ok(());
    }
    let ranges: Vec<std::ops::Range<usize>> =
        (0..tasks).map(|t| qnn_kernels::threads::split(n, tasks, t)).collect();
    let mut parts: Vec<Mutex<&mut [u8]>> = Vec::with_capacity(tasks);
    let mut rest: &mut [u8] = out;
    for range in &ranges {
        let (head, tail) = rest.split_at_mut(range.len() * row);
        parts.push(Mutex::new(head));
        rest = tail;
    }
    pool.run(tasks, &|t| {
        let mut mine = parts[t].lock().unwrap_or_else(|e| e.into_inner());
        fill_rows(ranges[t].clone(), &mut mine);
    })
}
