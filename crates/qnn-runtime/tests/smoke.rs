mod common;

use common::nets::{small_convnet, small_convnet_input};
use qnn_ir::reference;
use qnn_runtime::{CompileOptions, Compiler};

#[test]
fn small_convnet_matches_the_reference() {
    let g = small_convnet();
    let x = [small_convnet_input(1)];
    let want = reference::run(&g, &x).unwrap();
    let m = Compiler::new(CompileOptions::new().threads(2)).compile(&g).unwrap();
    println!("{}", m.report());
    let got = m.run(&x).unwrap();
    assert_eq!(got, want);
}
