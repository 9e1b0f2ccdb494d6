//! What is registered, sorted (inventory's own order is link order, which is not stable).

use super::BACKEND_ABI_VERSION;
use super::descriptor::BackendDescriptor;
use super::device::DeviceKernelEntry;
use super::kernel::KernelEntry;
use super::target::TargetDescriptor;

/// Every registered backend descriptor, sorted by name.
pub fn backends() -> Vec<&'static BackendDescriptor> {
    let mut v: Vec<_> = inventory::iter::<BackendDescriptor>.into_iter().collect();
    v.sort_by(|a, b| a.name.cmp(b.name));
    v
}

/// The descriptor named `name`, if registered.
pub fn backend(name: &str) -> Option<&'static BackendDescriptor> {
    inventory::iter::<BackendDescriptor>.into_iter().find(|d| d.name == name)
}

/// Every registered kernel, sorted by (backend, name).
pub fn kernels() -> Vec<&'static KernelEntry> {
    let mut v: Vec<_> = inventory::iter::<KernelEntry>.into_iter().collect();
    v.sort_by(|a, b| (a.backend, a.name).cmp(&(b.backend, b.name)));
    v
}

/// The kernels of one backend, sorted by name.
pub fn kernels_of(backend: &str) -> Vec<&'static KernelEntry> {
    kernels().into_iter().filter(|k| k.backend == backend).collect()
}

/// Every registered device kernel, sorted by (backend, name).
pub fn device_kernels() -> Vec<&'static DeviceKernelEntry> {
    let mut v: Vec<_> = inventory::iter::<DeviceKernelEntry>.into_iter().collect();
    v.sort_by(|a, b| (a.backend, a.name).cmp(&(b.backend, b.name)));
    v
}

/// The device kernels of one backend, sorted by name.
pub fn device_kernels_of(backend: &str) -> Vec<&'static DeviceKernelEntry> {
    device_kernels().into_iter().filter(|k| k.backend == backend).collect()
}

/// Every registered target descriptor (architectures, CPUs and features that backend crates
/// add to the named targets), sorted by architecture.
pub fn targets() -> Vec<&'static TargetDescriptor> {
    let mut v: Vec<_> = inventory::iter::<TargetDescriptor>.into_iter().collect();
    v.sort_by(|a, b| a.arch.cmp(&b.arch).then(a.triples.cmp(b.triples)));
    v
}

/// Problems with what is registered: duplicate names, ABI mismatches, kernels whose backend
/// is not registered. Empty when all is well.
pub fn problems() -> Vec<String> {
    let mut out = Vec::new();
    let bs = backends();
    for w in bs.windows(2) {
        if w[0].name == w[1].name {
            out.push(format!("backend `{}` is registered twice", w[0].name));
        }
    }
    for b in &bs {
        if b.abi_version != BACKEND_ABI_VERSION {
            out.push(format!(
                "backend `{}` was built for ABI {}, this is ABI {BACKEND_ABI_VERSION}",
                b.name, b.abi_version
            ));
        }
    }
    let ks = kernels();
    for w in ks.windows(2) {
        if (w[0].backend, w[0].name) == (w[1].backend, w[1].name) {
            out.push(format!("kernel `{}` of `{}` is registered twice", w[0].name, w[0].backend));
        }
    }
    for k in &ks {
        if k.abi_version != BACKEND_ABI_VERSION {
            out.push(format!(
                "kernel `{}` of `{}` was built for ABI {}, this is ABI {BACKEND_ABI_VERSION}",
                k.name, k.backend, k.abi_version
            ));
        }
        if !bs.iter().any(|b| b.name == k.backend) {
            out.push(format!(
                "kernel `{}` names backend `{}`, which is not registered",
                k.name, k.backend
            ));
        }
    }
    out.extend(device_kernel_problems(&bs));
    for t in targets() {
        if t.abi_version != BACKEND_ABI_VERSION {
            out.push(format!(
                "target descriptor of `{}` was built for ABI {}, this is ABI {BACKEND_ABI_VERSION}",
                t.arch, t.abi_version
            ));
        }
    }
    out
}

/// [`problems`] of the device kernels.
fn device_kernel_problems(bs: &[&BackendDescriptor]) -> Vec<String> {
    let mut out = Vec::new();
    let ds = device_kernels();
    for w in ds.windows(2) {
        if (w[0].backend, w[0].name) == (w[1].backend, w[1].name) {
            out.push(format!(
                "device kernel `{}` of `{}` is registered twice",
                w[0].name, w[0].backend
            ));
        }
    }
    for k in &ds {
        if k.abi_version != BACKEND_ABI_VERSION {
            out.push(format!(
                "device kernel `{}` of `{}` was built for ABI {}, this is ABI {BACKEND_ABI_VERSION}",
                k.name, k.backend, k.abi_version
            ));
        }
        if !bs.iter().any(|b| b.name == k.backend) {
            out.push(format!(
                "device kernel `{}` names backend `{}`, which is not registered",
                k.name, k.backend
            ));
        }
    }
    out
}
