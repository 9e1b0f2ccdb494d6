//! Which machine a measurement belongs to: architecture, CPU model and the CPU features the
//! backends probe. Measured decisions and calibrations are only reused on the same key.

use std::fmt;

use qnn_legalize::Target;
use serde::{Deserialize, Serialize};

/// The identity of a machine, as far as kernel speed goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MachineKey {
    /// `x86_64`, `aarch64`.
    pub arch: String,
    /// The CPU model (`/proc/cpuinfo`'s model name, or the Arm part), `unknown` when none.
    pub cpu: String,
    /// CPU features detected at run time (the ones descriptors name), sorted.
    pub features: Vec<String>,
}

impl MachineKey {
    /// This machine.
    pub fn host() -> MachineKey {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        MachineKey {
            arch: std::env::consts::ARCH.to_string(),
            cpu: cpu_model(&cpuinfo, std::env::consts::ARCH).unwrap_or_else(|| "unknown".into()),
            features: Target::host().features().to_vec(),
        }
    }
}

impl fmt::Display for MachineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} [{}]", self.arch, self.cpu, self.features.join(" "))
    }
}

/// Arm CPU parts (`CPU part` of `/proc/cpuinfo` with implementer 0x41) that boards and
/// cloud machines this project targets use.
const ARM_PARTS: &[(&str, &str)] = &[
    ("0xd03", "Cortex-A53"),
    ("0xd04", "Cortex-A35"),
    ("0xd05", "Cortex-A55"),
    ("0xd07", "Cortex-A57"),
    ("0xd08", "Cortex-A72"),
    ("0xd09", "Cortex-A73"),
    ("0xd0a", "Cortex-A75"),
    ("0xd0b", "Cortex-A76"),
    ("0xd0c", "Neoverse-N1"),
    ("0xd0d", "Cortex-A77"),
    ("0xd40", "Neoverse-V1"),
    ("0xd41", "Cortex-A78"),
    ("0xd46", "Cortex-A510"),
    ("0xd47", "Cortex-A710"),
    ("0xd49", "Neoverse-N2"),
    ("0xd4f", "Neoverse-V2"),
];

/// The CPU model named in a `/proc/cpuinfo` text: on x86 its `model name`, on Arm the
/// implementer and part (named when known); `None` when the text has no such field (qemu's
/// user mode shows the host's file, whose x86 model name says nothing about the emulated
/// Arm CPU).
pub fn cpu_model(cpuinfo: &str, arch: &str) -> Option<String> {
    let field = |key: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    if arch != "aarch64" && arch != "arm" {
        return field("model name").filter(|m| !m.is_empty());
    }
    let part = field("CPU part")?;
    let implementer = field("CPU implementer").unwrap_or_default();
    let known = (implementer == "0x41")
        .then(|| ARM_PARTS.iter().find(|(p, _)| *p == part).map(|(_, n)| *n))
        .flatten();
    Some(match known {
        Some(name) => name.to_string(),
        None => format!("implementer {implementer} part {part}"),
    })
}

#[cfg(test)]
mod tests {
    use super::cpu_model;

    #[test]
    fn x86_and_arm_cpuinfo() {
        let x86 =
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6338\n";
        assert_eq!(cpu_model(x86, "x86_64").as_deref(), Some("Intel(R) Xeon(R) Gold 6338"));
        // Under qemu-user an aarch64 binary reads the x86 host's file: no Arm CPU in it.
        assert_eq!(cpu_model(x86, "aarch64"), None);
        let pi3 = "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd03\n";
        assert_eq!(cpu_model(pi3, "aarch64").as_deref(), Some("Cortex-A53"));
        let other = "CPU implementer\t: 0x61\nCPU part\t: 0x022\n";
        assert_eq!(cpu_model(other, "aarch64").as_deref(), Some("implementer 0x61 part 0x022"));
        assert_eq!(cpu_model("", "x86_64"), None);
    }
}
