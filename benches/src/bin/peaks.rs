//! This core's instruction peaks (GMAC/s of each int8/int16 multiply-accumulate loop the CPU
//! has), as one JSON object: the denominator of "% of peak" in the network benchmark
//! (`cargo xtask bench --networks`), measured in the same run as the figures it divides.
//!
//! ```sh
//! cargo run --release -p qnn-benches --bin peaks
//! ```

fn main() {
    #[cfg(target_arch = "x86_64")]
    let peaks = qnn_benches::peak::measure_loops();
    #[cfg(target_arch = "aarch64")]
    let peaks = qnn_benches::peak_arm::measure_peaks(2_000_000);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let peaks: Vec<(&str, f64)> = Vec::new();
    let map: serde_json::Map<String, serde_json::Value> =
        peaks.into_iter().map(|(name, g)| (name.to_string(), serde_json::json!(g))).collect();
    println!("{}", serde_json::Value::Object(map));
}
