//! The decision cache: measured times of both lowerings per (machine, backend, threads, op
//! signature), in a JSON file that is meant to be read by people and shipped next to a model.
//! An entry is reused only on the same key; entries of other machines stay in the file.

use std::path::Path;

use qnn_legalize::{Lowering, OpSignature};
use serde::{Deserialize, Serialize};

use crate::error::TuneError;
use crate::machine::MachineKey;
use crate::timing::Sample;

/// The `format` of cache files this version reads and writes.
pub const CACHE_FORMAT: &str = "qnn-measured-lowerings/1";

/// Every measured decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionCache {
    /// [`CACHE_FORMAT`].
    pub format: String,
    pub entries: Vec<CacheEntry>,
}

/// Both lowerings of one signature, timed on one backend of one machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheEntry {
    pub machine: MachineKey,
    pub backend: String,
    /// Threads the single-op models ran with.
    pub threads: usize,
    /// The op's signature with an empty node name (ops of the same shape share an entry).
    pub signature: OpSignature,
    /// The node the entry was first measured for, for people reading the file.
    pub first_node: String,
    /// The fastest of `lowerings`.
    pub fastest: Lowering,
    pub lowerings: Vec<MeasuredLowering>,
}

/// One lowering's time on the backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredLowering {
    pub lowering: Lowering,
    /// Operand dtypes at the core conv (`u8×i8`, `i16×i16`).
    pub operands: String,
    /// The kernel that ran the op.
    pub kernel: String,
    /// The backend whose kernel ran it: another one (`portable`) when this backend has no
    /// kernel for the lowering.
    pub ran_on: String,
    #[serde(flatten)]
    pub sample: Sample,
}

impl CacheEntry {
    /// The time of `lowering` on this entry's backend, if measured.
    pub fn lowering(&self, lowering: Lowering) -> Option<&MeasuredLowering> {
        self.lowerings.iter().find(|m| m.lowering == lowering)
    }

    fn same_key(&self, other: &CacheEntry) -> bool {
        self.machine == other.machine
            && self.backend == other.backend
            && self.threads == other.threads
            && self.signature == other.signature
    }
}

/// The key form of a signature: its node name cleared.
pub fn signature_key(sig: &OpSignature) -> OpSignature {
    OpSignature { node: String::new(), ..sig.clone() }
}

impl Default for DecisionCache {
    fn default() -> Self {
        DecisionCache { format: CACHE_FORMAT.into(), entries: Vec::new() }
    }
}

impl DecisionCache {
    /// Reads a cache file; a file that does not exist is an empty cache.
    pub fn load(path: &Path) -> Result<DecisionCache, TuneError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(TuneError::Io { path: path.into(), source }),
        };
        let format = |what: String| TuneError::Format { path: path.into(), what };
        let cache: DecisionCache =
            serde_json::from_str(&text).map_err(|e| format(e.to_string()))?;
        if cache.format != CACHE_FORMAT {
            return Err(format(format!("format `{}`, expected `{CACHE_FORMAT}`", cache.format)));
        }
        Ok(cache)
    }

    /// Writes the cache (to a temporary file renamed over `path`, so a reader never sees half
    /// a file).
    pub fn save(&self, path: &Path) -> Result<(), TuneError> {
        let io = |source| TuneError::Io { path: path.into(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("caches serialize");
        std::fs::write(&tmp, text + "\n").map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The entry for this key, if any.
    pub fn lookup(
        &self,
        machine: &MachineKey,
        backend: &str,
        threads: usize,
        sig: &OpSignature,
    ) -> Option<&CacheEntry> {
        let key = signature_key(sig);
        self.entries.iter().find(|e| {
            e.machine == *machine
                && e.backend == backend
                && e.threads == threads
                && e.signature == key
        })
    }

    /// Adds `entry`, replacing one with the same key.
    pub fn insert(&mut self, entry: CacheEntry) {
        self.entries.retain(|e| !e.same_key(&entry));
        self.entries.push(entry);
    }
}
