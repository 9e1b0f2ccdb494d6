//! Finding the NVIDIA driver and NVRTC at run time, and calling into `cudarc` without
//! letting it panic.
//!
//! `cudarc` is built with `dynamic-loading` against the CUDA 13.0 API (driver 580): it opens
//! `libcuda.so(.1)` and `libnvrtc.so(.13|.12|…)` by name on first use, and **panics** when a
//! library is missing. So before any call into it:
//!
//! 1. the libraries are *preloaded* when the dynamic loader would not find them by name:
//!    `QNN_CUDA_NVRTC` / `QNN_CUDA_DRIVER` (a library file or the folder holding it), then
//!    `$CUDA_HOME`, `$CUDA_PATH`, `$CUDA_ROOT`, `/usr/local/cuda*` (newest first), and for the
//!    driver `/usr/local/nvidia` (where containers mount it). A library
//!    opened by path is afterwards found by its soname (`libnvrtc.so.13`, `libnvrtc.so.12`),
//!    which is how `cudarc` then reaches it; both NVRTC 12.x and 13.x work (the API we call
//!    is the same);
//! 2. `is_culib_present()` of the driver and of NVRTC must be true;
//! 3. every call runs inside [`guarded`], which turns a panic (a symbol an old driver lacks)
//!    into an error.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::error::CudaError;

/// Environment variable: path of `libnvrtc.so.*` or of its folder.
pub const NVRTC_ENV: &str = "QNN_CUDA_NVRTC";
/// Environment variable: path of `libcuda.so.1` or of its folder.
pub const DRIVER_ENV: &str = "QNN_CUDA_DRIVER";

/// Libraries opened by path, kept open for the life of the process.
static KEPT: Mutex<Vec<libloading::Library>> = Mutex::new(Vec::new());

/// File names of NVRTC and of the driver, preferred first.
const NVRTC_NAMES: &[&str] = &["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"];
const DRIVER_NAMES: &[&str] = &["libcuda.so.1", "libcuda.so"];

/// Runs `f`, turning a panic inside the CUDA bindings into [`CudaError::Panicked`].
pub(crate) fn guarded<T>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, CudaError>,
) -> Result<T, CudaError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let message = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "(no message)".into());
        Err(CudaError::Panicked { what, message })
    })
}

/// Folders where a CUDA toolkit keeps its libraries, in search order.
fn toolkit_dirs() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = ["CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"]
        .iter()
        .filter_map(|v| std::env::var_os(v).map(PathBuf::from))
        .collect();
    roots.push(PathBuf::from("/usr/local/cuda"));
    // /usr/local/cuda-13.0, cuda-12.8, …: newest first.
    if let Ok(entries) = std::fs::read_dir("/usr/local") {
        let mut versioned: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("cuda-")))
            .collect();
        versioned.sort_by_key(|p| std::cmp::Reverse(version_key(p)));
        roots.extend(versioned);
    }
    let arch = std::env::consts::ARCH;
    let mut dirs = Vec::new();
    for r in roots {
        for sub in ["lib64", "lib", &format!("targets/{arch}-linux/lib")] {
            dirs.push(r.join(sub));
        }
    }
    dirs
}

/// `(major, minor)` of a `cuda-MAJOR.MINOR` folder, for sorting.
fn version_key(p: &Path) -> (u32, u32) {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let v = name.trim_start_matches("cuda-");
    let mut it = v.split('.').map(|s| s.parse().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// The first library of `names` in `dir` (exact names, then versioned `NAME.x.y` files).
fn find_in(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    for n in names {
        let p = dir.join(n);
        if p.is_file() {
            return Some(p);
        }
    }
    let entries: Vec<PathBuf> =
        std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    names.iter().find_map(|n| {
        entries
            .iter()
            .find(|p| {
                p.file_name().is_some_and(|f| f.to_string_lossy().starts_with(&format!("{n}.")))
            })
            .cloned()
    })
}

/// Opens `path` and keeps it open.
fn keep(path: &Path) -> Result<(), String> {
    // SAFETY: loading NVIDIA's driver or NVRTC runs their initializers, which have no
    // preconditions; the handle is kept for the life of the process, so no symbol that
    // `cudarc` resolves from it can dangle.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    KEPT.lock().unwrap_or_else(|e| e.into_inner()).push(lib);
    Ok(())
}

/// Folders where a driver may live outside the loader path (containers mount it at
/// `/usr/local/nvidia`), then the toolkit's (its `stubs` are not searched: a stub driver
/// loads but finds no device).
fn driver_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        ["/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/wsl/lib"]
            .iter()
            .map(PathBuf::from)
            .collect();
    dirs.extend(toolkit_dirs());
    dirs
}

/// Makes one of `names` loadable: from `env` when set, else from `dirs` when the dynamic
/// loader does not already find it (`present`). Returns what was done, for messages.
fn preload(
    env: &str,
    names: &[&str],
    dirs: Vec<PathBuf>,
    present: impl Fn() -> bool,
) -> Result<String, String> {
    if let Some(given) = std::env::var_os(env).map(PathBuf::from) {
        let file = if given.is_dir() {
            find_in(&given, names)
                .ok_or_else(|| format!("{env}={} holds none of {names:?}", given.display()))?
        } else {
            given
        };
        keep(&file).map_err(|e| format!("{env}: {e}"))?;
        return Ok(format!("{} (from {env})", file.display()));
    }
    if present() {
        return Ok("found by the dynamic loader".into());
    }
    for dir in dirs {
        if let Some(file) = find_in(&dir, names) {
            keep(&file)?;
            return Ok(file.display().to_string());
        }
    }
    Err(format!(
        "none of {names:?} on the loader path or in the usual folders ($CUDA_HOME, $CUDA_PATH, $CUDA_ROOT, /usr/local/cuda*, /usr/local/nvidia); set {env} to the library or its folder"
    ))
}

/// Where the driver and NVRTC were found, or why not (computed once).
#[derive(Debug, Clone)]
pub struct Libraries {
    pub driver: Result<String, String>,
    pub nvrtc: Result<String, String>,
}

/// Finds and preloads the driver and NVRTC (once per process), then checks that `cudarc`
/// sees them.
pub fn libraries() -> &'static Libraries {
    static LIBS: OnceLock<Libraries> = OnceLock::new();
    LIBS.get_or_init(|| {
        // SAFETY: `is_culib_present` only tries to open libraries by name and closes them.
        let driver_present = || unsafe { cudarc::driver::sys::is_culib_present() };
        // SAFETY: as above.
        let nvrtc_present = || unsafe { cudarc::nvrtc::sys::is_culib_present() };
        let check = |found: Result<String, String>, present: &dyn Fn() -> bool, what: &str| {
            found.and_then(|how| {
                if present() {
                    Ok(how)
                } else {
                    Err(format!(
                        "{what} was opened ({how}) but its soname is not one cudarc looks for"
                    ))
                }
            })
        };
        let driver = preload(DRIVER_ENV, DRIVER_NAMES, driver_dirs(), driver_present)
            .map_err(|e| format!("no NVIDIA driver library (libcuda.so.1): {e}"));
        let nvrtc = preload(NVRTC_ENV, NVRTC_NAMES, toolkit_dirs(), nvrtc_present)
            .map_err(|e| format!("no NVRTC library (libnvrtc.so.13 or .12): {e}"));
        Libraries {
            driver: check(driver, &driver_present, "the driver"),
            nvrtc: check(nvrtc, &nvrtc_present, "NVRTC"),
        }
    })
}

/// `Ok` when NVRTC can be called (the driver is not needed to compile).
pub fn nvrtc_available() -> Result<(), CudaError> {
    libraries().nvrtc.clone().map(|_| ()).map_err(CudaError::Unavailable)
}

/// `Ok` when both the driver and NVRTC can be called.
pub fn cuda_libraries_available() -> Result<(), CudaError> {
    let libs = libraries();
    libs.driver.clone().map_err(CudaError::Unavailable)?;
    libs.nvrtc.clone().map(|_| ()).map_err(CudaError::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_toolkits_sort_newest_first() {
        let mut v = [
            PathBuf::from("/usr/local/cuda-12.8"),
            PathBuf::from("/usr/local/cuda-13.0"),
            PathBuf::from("/usr/local/cuda-12.10"),
        ];
        v.sort_by_key(|p| std::cmp::Reverse(version_key(p)));
        assert_eq!(v[0], PathBuf::from("/usr/local/cuda-13.0"));
        assert_eq!(v[1], PathBuf::from("/usr/local/cuda-12.10"));
    }

    #[test]
    fn finds_versioned_file_names() {
        let dir = std::env::temp_dir().join(format!("qnn-cuda-loader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("libnvrtc-builtins.so.13.0"), b"").unwrap();
        assert_eq!(find_in(&dir, NVRTC_NAMES), None);
        std::fs::write(dir.join("libnvrtc.so.12.9.86"), b"").unwrap();
        assert_eq!(find_in(&dir, NVRTC_NAMES), Some(dir.join("libnvrtc.so.12.9.86")));
        std::fs::write(dir.join("libnvrtc.so.13"), b"").unwrap();
        assert_eq!(find_in(&dir, NVRTC_NAMES), Some(dir.join("libnvrtc.so.13")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_panic_in_the_bindings_is_an_error() {
        let r: Result<(), CudaError> = guarded("a test", || panic!("Missing symbol cuFoo"));
        assert!(matches!(r, Err(CudaError::Panicked { message, .. }) if message.contains("cuFoo")));
    }
}
