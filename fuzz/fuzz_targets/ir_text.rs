//! The IR text parser: any text parses to a graph or fails with a located error. A graph that
//! parses prints to text that parses to a graph printing the same; a graph that also verifies
//! runs on the reference interpreter (when small) without panicking. Seeds:
//! `fuzz/seeds/ir_text` (printed graphs of every op), dictionary `fuzz/dicts/ir_text.dict`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qnn_fuzz::graph_check::{check_text_round_trip, run_reference_if_cheap};
use qnn_ir::text::{parse, parse_unverified};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let Ok(g) = parse_unverified(src) else { return };
    check_text_round_trip(&g);
    if parse(src).is_ok() {
        run_reference_if_cheap(&g, data.len() as u64);
    }
});
