//! Cost figures measured on one machine, for the [`CostModel`](super::CostModel) to use in
//! place of the descriptors' (written by `cargo xtask calibrate`, i.e. `qnn_tune::calibrate`).
//!
//! Descriptors carry one figure per kernel class, written by the backend's author for a
//! typical CPU. A calibration replaces them, per backend and class, with rates fitted to
//! timings of real kernels on this machine, so that the cost model predicts well on machines
//! of the same kind where measuring each op is not possible. Figures stay in the
//! descriptors' unit (per cycle): the calibration records the clock it converted with.

use std::collections::BTreeMap;

use qnn_ir::backend::{BackendDescriptor, KernelClass};
use serde::{Deserialize, Serialize};

/// The `format` of calibration files this version reads and writes.
pub const CALIBRATION_FORMAT: &str = "qnn-cost-calibration/1";

/// Fitted figures of the backends measured on one machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// [`CALIBRATION_FORMAT`].
    pub format: String,
    /// The machine measured (CPU model, architecture, features), for people and for checks.
    pub machine: String,
    /// Cycles per nanosecond used to express measured rates per cycle.
    pub clock_ghz: f64,
    /// Figures by backend name.
    pub backends: BTreeMap<String, CalibratedFigures>,
}

/// One backend's fitted figures; a class or figure left out keeps the descriptor's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CalibratedFigures {
    /// MACs (for `window-sum`: elements) per cycle, by kernel class (`int8-gemm`, …).
    pub macs_per_cycle: BTreeMap<String, f64>,
    /// Bytes per cycle of the memory term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_cycle: Option<f64>,
}

impl Calibration {
    pub fn new(machine: impl Into<String>, clock_ghz: f64) -> Calibration {
        Calibration {
            format: CALIBRATION_FORMAT.into(),
            machine: machine.into(),
            clock_ghz,
            backends: BTreeMap::new(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("calibrations serialize")
    }

    /// Parses a calibration file; another `format` is an error naming it.
    pub fn from_json(s: &str) -> Result<Calibration, String> {
        let c: Calibration = serde_json::from_str(s).map_err(|e| e.to_string())?;
        if c.format != CALIBRATION_FORMAT {
            return Err(format!("format `{}`, expected `{CALIBRATION_FORMAT}`", c.format));
        }
        Ok(c)
    }

    /// The fitted rate of `class` on `backend`, if measured.
    pub fn rate(&self, backend: &str, class: KernelClass) -> Option<f64> {
        self.backends.get(backend)?.macs_per_cycle.get(class.as_str()).copied()
    }

    /// The rate the cost model uses: fitted, else the descriptor's. `true` when fitted.
    pub fn rate_or_descriptor(
        cal: Option<&Calibration>,
        d: &BackendDescriptor,
        class: KernelClass,
    ) -> Option<(f64, bool)> {
        if let Some(r) = cal.and_then(|c| c.rate(d.name, class)).filter(|r| *r > 0.0) {
            return Some((r, true));
        }
        d.capabilities.cost(class).filter(|r| *r > 0.0).map(|r| (f64::from(r), false))
    }

    /// Bytes per cycle of `d`: fitted, else the descriptor's.
    pub fn bytes_per_cycle(cal: Option<&Calibration>, d: &BackendDescriptor) -> f64 {
        cal.and_then(|c| c.backends.get(d.name)?.bytes_per_cycle)
            .filter(|b| *b > 0.0)
            .unwrap_or(f64::from(d.capabilities.bytes_per_cycle.max(f32::MIN_POSITIVE)))
    }
}
