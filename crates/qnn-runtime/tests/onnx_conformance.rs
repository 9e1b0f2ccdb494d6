//! Conformance with data no one on this project wrote, through the compiled runtime: the 50
//! single-op cases with ONNX Runtime's outputs and the ONNX node tests for the quantization
//! operators that ONNX Runtime passes (qnn-onnx's fixtures), each compiled for every usable
//! backend and for the host, must equal the expected outputs bit for bit.
//!
//! qnn-onnx's own tests check the same data on the reference interpreter; this one checks the
//! kernels the runtime picks. `cargo xtask test` runs it on the host (x86 backends) and on
//! aarch64 under qemu for each CPU model (NEON, dotprod, i8mm).

mod common;

use std::path::{Path, PathBuf};

use qnn_ir::Tensor;
use qnn_legalize::LegalizeError;
use qnn_onnx::{ImportOptions, Model, tensor_from_pb};
use qnn_runtime::{CompileOptions, Compiler, Exec, RuntimeError};

/// The quantization operators' node tests (DynamicQuantizeLinear is not imported: its
/// parameters are computed at run time).
const OPS: [&str; 6] = [
    "test_qlinearconv",
    "test_qlinearmatmul",
    "test_convinteger",
    "test_matmulinteger",
    "test_quantizelinear",
    "test_dequantizelinear",
];

fn fixtures(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../qnn-onnx/tests/fixtures").join(sub)
}

/// The sub-folders of `dir`, sorted.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// `dir/<stem>_<k>.<ext>` for k = 0, 1, … while they exist.
fn numbered(dir: &Path, stem: &str, ext: &str) -> Vec<PathBuf> {
    (0..).map(|k| dir.join(format!("{stem}_{k}.{ext}"))).take_while(|p| p.exists()).collect()
}

fn read_pb(p: &Path) -> Result<qnn_onnx::Constant, String> {
    let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    tensor_from_pb(&bytes).map_err(|e| format!("{}: {e}", p.display()))
}

/// The first element that differs (dtype, shape or bits), if any.
fn difference(want: &Tensor, got: &Tensor) -> Option<String> {
    if want.ty() != got.ty() {
        return Some(format!("type {} expected, got {}", want.ty(), got.ty()));
    }
    let (w, g) = (want.to_f64_vec(), got.to_f64_vec());
    let first = w.iter().zip(&g).position(|(a, b)| a.to_bits() != b.to_bits())?;
    let n = w.iter().zip(&g).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    Some(format!(
        "{n} of {} elements differ; first at {first}: {} expected, got {}",
        w.len(),
        w[first],
        g[first]
    ))
}

/// One model with its inputs and expected outputs, ready to compile.
struct Item {
    name: String,
    graph: qnn_ir::Graph,
    inputs: Vec<Tensor>,
    expected: Vec<Tensor>,
}

fn case_item(dir: &Path) -> Result<Item, String> {
    let model = Model::from_path(dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let graph = model.import(&ImportOptions::default()).map_err(|e| e.to_string())?.graph;
    let read = |p: &PathBuf| qnn_npy::read(p).map_err(|e| e.to_string());
    let inputs = numbered(dir, "input", "npy").iter().map(read).collect::<Result<_, _>>()?;
    let expected = numbered(dir, "output", "npy").iter().map(read).collect::<Result<_, _>>()?;
    Ok(Item { name: name_of(dir), graph, inputs, expected })
}

/// A node test, with every input but the activations bound as a constant (`bind_all`, as a
/// deployed model has its weights) or only the scales and zero points (weights computed at run
/// time, as the test declares them).
fn node_item(dir: &Path, against_ort: bool, bind_all: bool) -> Result<Item, String> {
    let model = Model::from_path(dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let data = dir.join("test_data_set_0");
    let declared = model.inputs().map_err(|e| e.to_string())?;
    let values =
        numbered(&data, "input", "pb").iter().map(|p| read_pb(p)).collect::<Result<Vec<_>, _>>()?;
    let statics = model.static_inputs();
    let mut opts = ImportOptions::default();
    let mut inputs = Vec::new();
    for (k, (info, v)) in declared.iter().zip(values).enumerate() {
        if (bind_all && k > 0) || statics.contains(&info.name) {
            opts.bindings.insert(info.name.clone(), v);
        } else {
            inputs.push(v.to_tensor().ok_or(format!("input `{}`: unsupported type", info.name))?);
        }
    }
    let graph = model.import(&opts).map_err(|e| format!("import: {e}"))?.graph;
    let expected = if against_ort {
        numbered(&data, "ort_output", "npy")
            .iter()
            .map(|p| qnn_npy::read(p).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?
    } else {
        numbered(&data, "output", "pb")
            .iter()
            .map(|p| read_pb(p)?.to_tensor().ok_or("unsupported output type".to_string()))
            .collect::<Result<_, _>>()?
    };
    let name = format!("{}{}", name_of(dir), if bind_all { "" } else { " (weights as inputs)" });
    Ok(Item { name, graph, inputs, expected })
}

fn name_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().to_string()
}

/// Counts over all compiled plans.
#[derive(Default)]
struct Tally {
    /// Ops that ran on a backend kernel.
    kernels: usize,
    /// Items the runtime does not compile (a form no lowering takes: uint16 Q/DQ); `qnn run`
    /// interprets those on the reference, and so does this test.
    on_reference: Vec<String>,
}

/// Compiles `item` for every usable backend and the host; the failures.
fn check(item: &Item, tally: &mut Tally) -> Vec<String> {
    let mut failures = Vec::new();
    for backend in common::usable_backends().into_iter().map(Some).chain([None]) {
        let on = backend.unwrap_or("host");
        let result = match Compiler::new(CompileOptions::new().backend(backend).threads(2))
            .compile(&item.graph)
        {
            Ok(m) => {
                tally.kernels += m.report().count(Exec::Kernel);
                m.run(&item.inputs).map_err(|e| format!("run: {e}"))
            }
            Err(RuntimeError::Legalize(LegalizeError::Unsupported { .. })) => {
                if backend.is_none() {
                    tally.on_reference.push(item.name.clone());
                }
                qnn_ir::reference::run(&item.graph, &item.inputs).map_err(|e| format!("{e}"))
            }
            Err(e) => Err(format!("compile: {e}")),
        };
        let got = match result {
            Ok(got) => got,
            Err(e) => {
                failures.push(format!("{} on {on}: {e}", item.name));
                continue;
            }
        };
        if got.len() != item.expected.len() {
            failures.push(format!(
                "{} on {on}: {} outputs, {} expected",
                item.name,
                got.len(),
                item.expected.len()
            ));
        }
        for (k, (w, g)) in item.expected.iter().zip(&got).enumerate() {
            if let Some(d) = difference(w, g) {
                failures.push(format!("{} on {on}: output {k}: {d}", item.name));
            }
        }
    }
    failures
}

fn run_all(title: &str, items: Vec<Result<Item, String>>, expected_count: usize) {
    assert_eq!(items.len(), expected_count, "{title}: the fixture set changed");
    let backends = common::usable_backends();
    let (mut failures, mut tally) = (Vec::new(), Tally::default());
    for item in &items {
        match item {
            Ok(item) => failures.extend(check(item, &mut tally)),
            Err(e) => failures.push(e.clone()),
        }
    }
    println!(
        "{title}: {} items on {} + host: {} failures; {} kernel ops in all plans; on the \
         reference (not lowered): {:?}",
        items.len(),
        backends.join(", "),
        failures.len(),
        tally.kernels,
        tally.on_reference
    );
    assert!(tally.kernels > 0, "{title}: no op ran on a backend kernel");
    assert!(failures.is_empty(), "{title}: {} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn single_op_cases_equal_onnx_runtime_on_every_backend() {
    let items = subdirs(&fixtures("cases")).iter().map(|d| case_item(d)).collect();
    run_all("single-op cases", items, 50);
}

#[test]
fn onnx_node_tests_onnx_runtime_passes_equal_on_every_backend() {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures("node/index.json")).unwrap())
            .unwrap();
    let mut items = Vec::new();
    for set in ["onnx-1.16.2", "onnx-1.23.2"] {
        for dir in subdirs(&fixtures(&format!("node/{set}"))) {
            if !OPS.iter().any(|p| name_of(&dir).starts_with(p)) {
                continue;
            }
            let ort = index["sets"][set]["tests"][&name_of(&dir)]["ort"].as_str().unwrap_or("?");
            // "exact": ONNX's expected outputs; "runs, output differs": ONNX's expectation is
            // wrong (wraps where the op saturates), ORT's output is the reference.
            match ort {
                "exact" | "runs, output differs" => {
                    let against_ort = ort != "exact";
                    items.push(node_item(&dir, against_ort, true));
                    items.push(node_item(&dir, against_ort, false));
                }
                _ => {}
            }
        }
    }
    run_all("ONNX node tests ONNX Runtime passes, weights bound and as inputs", items, 68);
}
