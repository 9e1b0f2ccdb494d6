//! The backends every user of the runtime gets, without naming any backend crate.

use qnn_runtime::{PORTABLE_BACKEND, registered_backends};

#[test]
fn the_in_tree_backends_are_registered() {
    // The Arm descriptors register on every host (their kernels only on aarch64), and so do
    // the CUDA descriptor and device kernels (run where a GPU is); the x86 crates compile
    // to nothing elsewhere.
    let mut want = vec![PORTABLE_BACKEND, "arm-dotprod", "arm-neon", "cuda-dp4a"];
    if cfg!(target_arch = "x86_64") {
        want.extend(["x86-avx2", "x86-vnni"]);
    }
    want.sort_unstable();
    assert_eq!(registered_backends(), want);
    assert_eq!(qnn_ir::backend::registry::problems(), Vec::<String>::new());
}

#[test]
fn every_registered_kernel_names_a_registered_backend() {
    let backends = registered_backends();
    for k in qnn_ir::backend::registry::kernels() {
        assert!(backends.contains(&k.backend), "{} of {}", k.name, k.backend);
    }
    assert!(qnn_ir::backend::registry::kernels_of(PORTABLE_BACKEND).len() >= 10);
    let device: Vec<&str> =
        qnn_ir::backend::registry::device_kernels().iter().map(|k| k.name).collect();
    assert_eq!(device, ["dp4a_conv_s8s8", "dp4a_dw_s8s8"]);
}
