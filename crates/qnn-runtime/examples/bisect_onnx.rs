//! Debug aid: for an ONNX model and input, finds the first node whose compiled value differs
//! from the reference interpreter's, per forced backend.
//!
//! ```sh
//! cargo run --release -p qnn-runtime --example bisect_onnx -- model.onnx input.npy
//! ```

use qnn_onnx::{ImportOptions, Model};
use qnn_runtime::{CompileOptions, Compiler, registered_backends};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = Model::from_path(&args[0])?;
    let x = qnn_npy::read(&args[1])?;
    let g = model.import(&ImportOptions::default())?.graph;
    let all = qnn_ir::reference::run_all(&g, std::slice::from_ref(&x))?;
    for backend in registered_backends() {
        let run = |v: qnn_ir::ValueId| -> Result<bool, Box<dyn std::error::Error>> {
            let mut h = g.clone();
            h.outputs = vec![v];
            let m = Compiler::new(CompileOptions::new().backend(Some(backend)).threads(1))
                .compile(&h)?;
            Ok(m.run(std::slice::from_ref(&x))?[0] == all[v.index()])
        };
        let outs: Vec<qnn_ir::ValueId> = g.nodes.iter().map(|n| n.output).collect();
        let (mut lo, mut hi) = (0usize, outs.len());
        if run(outs[hi - 1])? {
            println!("{backend}: equal");
            continue;
        }
        // Invariant: outs[hi - 1] differs; find the first differing node.
        while lo + 1 < hi {
            let mid = (lo + hi) / 2;
            if run(outs[mid - 1])? { lo = mid } else { hi = mid }
        }
        let n = &g.nodes[hi - 1];
        println!("{backend}: first difference at node {} `{}` ({})", hi - 1, n.name, n.op.name());
        let mut h = g.clone();
        h.outputs = vec![n.output];
        let m =
            Compiler::new(CompileOptions::new().backend(Some(backend)).threads(1)).compile(&h)?;
        let got = m.run(std::slice::from_ref(&x))?.remove(0);
        let (a, b) = (got.to_f64_vec(), all[n.output.index()].to_f64_vec());
        let diffs: Vec<(usize, f64, f64)> = a
            .iter()
            .zip(&b)
            .enumerate()
            .filter(|(_, (p, q))| p != q)
            .map(|(i, (p, q))| (i, *p, *q))
            .take(8)
            .collect();
        println!(
            "  {} of {} differ; first: {diffs:?}",
            a.iter().zip(&b).filter(|(p, q)| p != q).count(),
            a.len()
        );
        for p in g.nodes.iter().filter(|p| n.inputs.contains(&p.output)) {
            println!("  input from {} ({})", p.name, p.op.name());
        }
        println!(
            "{}",
            qnn_ir::text::print(&h)
                .lines()
                .filter(|l| l.contains(&n.name))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}
