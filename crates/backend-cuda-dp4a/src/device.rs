//! One CUDA device: its context, and the kernels compiled for it by NVRTC at first use,
//! cached per device ordinal for the life of the process.

use std::sync::{Arc, Mutex};

use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::{CudaContext, CudaFunction, CudaModule};
use cudarc::nvrtc::Ptx;

use crate::error::CudaError;
use crate::loader::{cuda_libraries_available, guarded};
use crate::nvrtc::{self, Image};

/// Environment variable: the device ordinal to use (default 0).
pub const DEVICE_ENV: &str = "QNN_CUDA_DEVICE";

/// Every kernel of the CUDA source.
pub const KERNELS: &[&str] = &[
    "dp4a_pack_input",
    "dp4a_conv_128x128",
    "dp4a_conv_64x64",
    "dp4a_conv_32x32",
    "dp4a_conv_reduce",
    "dp4a_window_sums",
    "dp4a_dw",
    "dp4a_peak",
];

/// A device with its kernels loaded.
#[derive(Debug)]
pub struct Device {
    pub ordinal: usize,
    pub name: String,
    /// Compute capability `(major, minor)`.
    pub compute_capability: (i32, i32),
    pub multiprocessors: usize,
    /// SM clock in kHz, when the driver reports it.
    pub clock_khz: Option<i32>,
    /// What NVRTC compiled for (`sm_90 cubin`, `compute_89 ptx`), and its version.
    pub compiled_for: String,
    pub(crate) ctx: Arc<CudaContext>,
    _module: Arc<CudaModule>,
    functions: Vec<(&'static str, CudaFunction)>,
}

impl Device {
    /// A loaded kernel.
    pub(crate) fn function(&self, name: &str) -> Result<&CudaFunction, CudaError> {
        self.functions.iter().find(|(n, _)| *n == name).map(|(_, f)| f).ok_or_else(|| {
            CudaError::Driver { what: "kernel lookup", error: format!("no kernel `{name}`") }
        })
    }

    /// One line: `NVIDIA H100 (sm_90, 132 SMs), kernels: sm_90 cubin (NVRTC 13.0)`.
    pub fn describe(&self) -> String {
        let (ma, mi) = self.compute_capability;
        format!(
            "{} (sm_{ma}{mi}, {} SMs), kernels: {}",
            self.name, self.multiprocessors, self.compiled_for
        )
    }
}

/// The device ordinal to use: `QNN_CUDA_DEVICE`, else 0.
pub fn default_ordinal() -> usize {
    std::env::var(DEVICE_ENV).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// The device `ordinal`, its kernels compiled and loaded on first use.
pub fn device(ordinal: usize) -> Result<Arc<Device>, CudaError> {
    static DEVICES: Mutex<Vec<Arc<Device>>> = Mutex::new(Vec::new());
    let mut devices = DEVICES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(d) = devices.iter().find(|d| d.ordinal == ordinal) {
        return Ok(d.clone());
    }
    let d = Arc::new(open(ordinal)?);
    devices.push(d.clone());
    Ok(d)
}

fn attribute(ctx: &CudaContext, a: CUdevice_attribute) -> Result<i32, CudaError> {
    ctx.attribute(a).map_err(|e| CudaError::driver("cuDeviceGetAttribute", e))
}

fn open(ordinal: usize) -> Result<Device, CudaError> {
    cuda_libraries_available()?;
    guarded("opening the CUDA device", || {
        let ctx = CudaContext::new(ordinal).map_err(|e| CudaError::driver("cuCtx (primary)", e))?;
        // Every op synchronizes its own stream before returning: no cross-stream events.
        // SAFETY: called before any allocation or stream of this context exists.
        unsafe { ctx.disable_event_tracking() };
        let name = ctx.name().map_err(|e| CudaError::driver("cuDeviceGetName", e))?;
        let cc =
            ctx.compute_capability().map_err(|e| CudaError::driver("compute capability", e))?;
        if cc < (6, 1) {
            return Err(CudaError::Unavailable(format!(
                "device {ordinal} ({name}) is sm_{}{}; dp4a needs sm_61 or newer",
                cc.0, cc.1
            )));
        }
        let sms = attribute(&ctx, CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?;
        let clock = attribute(&ctx, CUdevice_attribute::CU_DEVICE_ATTRIBUTE_CLOCK_RATE).ok();
        let (nv_major, nv_minor) = nvrtc::version()?;
        let arch = nvrtc::arch_for(cc.0 * 10 + cc.1, &nvrtc::supported_archs()?)?;
        let image = nvrtc::compile(&nvrtc::source(), &arch)?;
        let (ptx, kind) = match image {
            Image::Cubin(bytes) => (Ptx::from_binary(bytes), "cubin"),
            Image::Ptx(mut text) => {
                text.retain(|&b| b != 0);
                (Ptx::from_src(String::from_utf8_lossy(&text).into_owned()), "ptx")
            }
        };
        let module = ctx.load_module(ptx).map_err(|e| CudaError::driver("cuModuleLoadData", e))?;
        let functions = KERNELS
            .iter()
            .map(|&k| {
                module
                    .load_function(k)
                    .map(|f| (k, f))
                    .map_err(|e| CudaError::driver("cuModuleGetFunction", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Device {
            ordinal,
            name,
            compute_capability: cc,
            multiprocessors: usize::try_from(sms).unwrap_or(1).max(1),
            clock_khz: clock,
            compiled_for: format!("{arch} {kind} (NVRTC {nv_major}.{nv_minor})"),
            ctx,
            _module: module,
            functions,
        })
    })
}
