//! `Limits::set_process_default` changes what every check without explicit limits uses (its own
//! test binary: the setting is process-wide).

use qnn_ir::limits::Limits;
use qnn_ir::*;

#[test]
fn the_process_default_applies_to_builder_verifier_parser_and_reference() {
    assert_eq!(Limits::default(), Limits::DEFAULT);
    let ty = TensorType::new(DType::I32, [64, 64]);
    let mut b = GraphBuilder::new("g");
    let x = b.input("x", ty.clone()).unwrap();
    b.output(x);
    let g = b.finish().unwrap();
    let text = text::print(&g);
    let input = Tensor::zeros(&ty);
    assert!(reference::run(&g, std::slice::from_ref(&input)).is_ok());

    Limits::set_process_default(Limits::DEFAULT.with_tensor_bytes(16 * 1024 - 1));
    assert_eq!(Limits::default().max_tensor_bytes, 16 * 1024 - 1);
    let limited = |e: IrError| e.to_string().contains("16384 bytes exceed the limit of 16383");
    assert!(limited(GraphBuilder::new("g").input("x", ty.clone()).unwrap_err()));
    assert!(limited(g.verify().unwrap_err()));
    assert!(limited(reference::run(&g, std::slice::from_ref(&input)).unwrap_err()));
    assert!(limited(text::parse(&text).unwrap_err()));

    Limits::set_process_default(Limits::DEFAULT);
    assert!(g.verify().is_ok() && text::parse(&text).is_ok());
}
