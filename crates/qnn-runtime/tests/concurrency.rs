//! One compiled model run from several threads at once gives the outputs of sequential runs.

mod common;

use common::nets::{small_convnet, small_convnet_input};
use common::random_graph::{Kind, Layer, Net, build};
use qnn_ir::{Rounding, reference};
use qnn_runtime::{CompileOptions, CompiledModel, Compiler, Workspace};

#[test]
fn a_compiled_model_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<CompiledModel>();
    check::<Compiler>();
}

/// A bigger net than the smoke test's, so that steps split over the pool.
fn wide_net() -> Net {
    let layer = |kind, out_c, kernel, stride, seed| Layer {
        kind,
        out_c,
        kernel,
        stride,
        pad: 1,
        dilation: 1,
        group_pick: 0,
        weight_u8: false,
        wzp_mode: 3,
        bias: true,
        rounding: Rounding::Float,
        out_u8: true,
        out_zp_pick: 1,
        mult_exp: 0,
        clip: 2,
        count_include_pad: false,
        seed,
    };
    Net {
        input_u8: true,
        input_zp_pick: 2,
        n: 1,
        c: 8,
        h: 40,
        w: 40,
        layers: vec![
            layer(Kind::Conv, 16, 3, 1, 1),
            layer(Kind::Depthwise, 16, 3, 1, 2),
            layer(Kind::Add, 16, 1, 1, 3),
            layer(Kind::Conv, 24, 3, 2, 4),
        ],
        seed: 11,
    }
}

#[test]
fn concurrent_runs_equal_sequential_runs() {
    for threads in [1, 2, 3] {
        for (g, inputs) in
            [(small_convnet(), (0..4).map(small_convnet_input).collect::<Vec<_>>()), {
                let (g, _) = build(&wide_net());
                let xs = (0..4)
                    .map(|s| build(&Net { seed: 100 + s, ..wide_net() }).1)
                    .collect::<Vec<_>>();
                (g, xs)
            }]
        {
            let m = Compiler::new(CompileOptions::new().threads(threads)).compile(&g).unwrap();
            let want: Vec<_> = inputs
                .iter()
                .map(|x| reference::run(&g, std::slice::from_ref(x)).unwrap())
                .collect();
            std::thread::scope(|s| {
                for t in 0..4 {
                    let (m, inputs, want) = (&m, &inputs, &want);
                    s.spawn(move || {
                        let mut ws = Workspace::default();
                        for i in 0..12 {
                            let k = (t + i) % inputs.len();
                            let got = if i % 2 == 0 {
                                m.run(std::slice::from_ref(&inputs[k])).unwrap()
                            } else {
                                m.run_with(&mut ws, std::slice::from_ref(&inputs[k])).unwrap()
                            };
                            assert_eq!(got, want[k], "thread {t} run {i} ({threads} pool threads)");
                        }
                    });
                }
            });
        }
    }
}
