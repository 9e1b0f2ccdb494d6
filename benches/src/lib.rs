//! Criterion benchmarks of qnn (see `benches/`).
