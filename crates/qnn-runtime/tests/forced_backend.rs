//! The plan's kernel choice per op when one backend is forced (`QNN_BACKEND` or the API
//! option), on the small conv net.

mod common;

use common::nets::{small_convnet, small_convnet_input};
use qnn_ir::reference;
use qnn_runtime::{CompileOptions, Compiler, Exec};

/// Kernel steps of a model compiled with `backend` forced: (step, backend, kernel, lowering).
fn kernels_with(opts: CompileOptions) -> Vec<(String, String, String, String)> {
    let g = small_convnet();
    let m = Compiler::new(opts).compile(&g).unwrap();
    let x = [small_convnet_input(4)];
    assert_eq!(m.run(&x).unwrap(), reference::run(&g, &x).unwrap());
    m.report()
        .steps
        .iter()
        .filter(|s| s.exec == Exec::Kernel)
        .map(|s| {
            let f = |o: &Option<String>| o.clone().unwrap_or_default();
            (s.step.clone(), f(&s.backend), f(&s.kernel), f(&s.lowering))
        })
        .collect()
}

#[test]
fn forcing_a_backend_picks_its_kernels() {
    let prefixes: [(&str, &[&str]); 3] = [
        ("x86-vnni", &["vnni_", "avxvnni_"]),
        ("x86-avx2", &["avx2_"]),
        ("portable", &["portable_"]),
    ];
    for (backend, prefix) in prefixes {
        if !common::usable_backends().contains(&backend) {
            eprintln!("SKIPPED: backend {backend} cannot run here");
            continue;
        }
        let ks = kernels_with(CompileOptions::new().backend(Some(backend)));
        assert_eq!(ks.len(), 4, "{backend}: {ks:?}");
        for (step, b, k, _) in &ks {
            assert_eq!(b, backend, "{step}");
            assert!(prefix.iter().any(|p| k.starts_with(p)), "{backend}: {step} runs {k}");
        }
        // QNN_BACKEND does the same as the API option.
        let env = CompileOptions::from_env_with(|k| (k == "QNN_BACKEND").then(|| backend.into()));
        assert_eq!(kernels_with(env), ks, "{backend}");
    }
    if common::usable_backends().contains(&"x86-avx2") {
        // The lowerings of the AVX2 table, on AVX2 kernels that read the 8-bit data in
        // place and widen it in registers: exact int8 (the weights' pair sums exceed int16,
        // so no vpmaddubsw; the small layers' input copy would cost more than the in-register
        // widening saves), int16 for dw.
        let ks = kernels_with(CompileOptions::new().backend(Some("x86-avx2")));
        let got: Vec<(&str, &str)> = ks.iter().map(|k| (k.2.as_str(), k.3.as_str())).collect();
        assert_eq!(
            got,
            [
                ("avx2_gemm_u8s8_4x16", "int8-terms"),
                ("avx2_dw_u8i16_16", "int16-upcast"),
                ("avx2_gemm_u8s8_4x16", "int8-terms"),
                ("avx2_gemm_u8s8_4x16", "int8-terms"),
            ]
        );
    }
}
