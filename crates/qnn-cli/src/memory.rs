//! The process's peak resident memory, for `qnn run --profile`: what loading, compiling and
//! running a model really held at its worst (Linux: `VmHWM` of `/proc/self/status`).

/// Peak resident set size in bytes; `None` where the system does not report it.
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    vm_hwm(&status)
}

/// The `VmHWM:   1234 kB` line of a `/proc/<pid>/status` text, in bytes.
fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut parts = line["VmHWM:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next()? {
        "kB" => value.checked_mul(1024),
        _ => None,
    }
}

/// `bytes` as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_high_water_mark() {
        let status = "Name:\tqnn\nVmPeak:\t  900 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(vm_hwm(status), Some(2 << 20));
        assert_eq!(vm_hwm("VmRSS:\t 1000 kB\n"), None);
        assert_eq!(vm_hwm("VmHWM:\t 12 MB\n"), None);
        assert_eq!(mib(3 << 19), "1.5 MiB");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_peak() {
        assert!(peak_resident_bytes().is_some_and(|b| b > 0));
    }
}
