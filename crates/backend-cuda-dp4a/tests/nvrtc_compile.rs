//! Compiles every kernel source with NVRTC for sm_61 (the first dp4a GPUs) and sm_90
//! (Hopper), without a GPU or a driver: NVRTC is only a compiler. Runs when NVRTC is
//! loadable (on the loader path, or `QNN_CUDA_NVRTC=/path/to/libnvrtc.so.12` — e.g. from the
//! `nvidia-cuda-nvrtc-cu12` wheel); otherwise it says SKIPPED, and `QNN_REQUIRE_CUDA=1` or
//! `QNN_REQUIRE_NVRTC=1` make the skip a failure.

mod common;

use std::io::Write;

use backend_cuda_dp4a::device::KERNELS;
use backend_cuda_dp4a::loader::nvrtc_available;
use backend_cuda_dp4a::nvrtc::{Image, compile, source, supported_archs, version};

fn nvrtc_or_skip(test: &str) -> bool {
    match nvrtc_available() {
        Ok(()) => true,
        Err(why) => {
            let require =
                common::required() || std::env::var("QNN_REQUIRE_NVRTC").is_ok_and(|v| v == "1");
            assert!(!require, "{test}: {why}, and NVRTC is required");
            // Straight to stderr: the test harness captures `eprintln!`, a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {test}: {why}. Set QNN_CUDA_NVRTC to an NVRTC library to run it."
            );
            false
        }
    }
}

#[test]
fn every_kernel_compiles_for_sm61_and_sm90() {
    if !nvrtc_or_skip("NVRTC compilation of the dp4a kernels") {
        return;
    }
    let supported = supported_archs().unwrap();
    eprintln!("NVRTC {:?}, architectures {supported:?}", version().unwrap());
    let mut compiled = 0;
    for cc in [61, 90] {
        if !supported.contains(&cc) {
            // NVRTC 13 dropped Pascal: say so, compile what this NVRTC can.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: sm_{cc}: this NVRTC ({:?}) does not target it",
                version().unwrap()
            );
            continue;
        }
        let Image::Ptx(ptx) =
            compile(&source(), &format!("compute_{cc}")).unwrap_or_else(|e| panic!("{e}"))
        else {
            panic!("compute_{cc} gives PTX");
        };
        let ptx = String::from_utf8_lossy(&ptx);
        for k in KERNELS {
            assert!(ptx.contains(&format!(".entry {k}(")), "compute_{cc}: no kernel {k}");
        }
        assert!(ptx.contains("dp4a.s32.s32"), "compute_{cc}: no dp4a instruction");
        // --fmad=false: the f32 requantize is never contracted into an FMA.
        assert!(!ptx.contains("fma.rn.f32"), "compute_{cc}: an f32 FMA in the PTX");
        assert!(
            ptx.contains("mul.rn.f32") && ptx.contains("cvt.rni.f32.f32"),
            "compute_{cc}: the f32 epilogue"
        );
        let Image::Cubin(cubin) =
            compile(&source(), &format!("sm_{cc}")).unwrap_or_else(|e| panic!("{e}"))
        else {
            panic!("sm_{cc} gives a CUBIN");
        };
        assert!(cubin.starts_with(b"\x7fELF"), "sm_{cc}: the CUBIN is an ELF image");
        compiled += 1;
    }
    assert!(compiled > 0, "this NVRTC targets neither sm_61 nor sm_90: {supported:?}");
}

#[test]
fn a_compile_error_is_reported_with_the_log() {
    if !nvrtc_or_skip("NVRTC error reporting") {
        return;
    }
    let arch = format!("compute_{}", supported_archs().unwrap()[0]);
    let e = compile("extern \"C\" __global__ void k() { undeclared = 1; }", &arch)
        .unwrap_err()
        .to_string();
    assert!(e.contains("undeclared") && e.contains(&arch), "{e}");
}
