//! Loading a model with its input files: which file feeds which graph input, which inputs
//! become constants, their types and shapes checked against the model, then the import.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use qnn_ir::{Graph, Op, Tensor, ValueDef};
use qnn_npy::NpyType;
use qnn_onnx::{Dim, Form, ImportOptions, Imported, IoInfo, Model, NodeSummary, OnnxType};

use crate::cli::ModelArgs;
use crate::constants;

/// The model file, by format (told apart by content: TFLite's `TFL3` identifier).
#[derive(Debug)]
pub enum Source {
    Onnx(Box<Model>),
    Tflite(qnn_tflite::Model),
}

/// A model imported with its inputs.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    /// The decoded file; `None` once [released](Self::release_model).
    pub model: Option<Source>,
    pub imported: Imported,
    /// One per input of the imported graph (`imported.inputs`), in order: the tensor read
    /// from its file, or `None` when no file was given.
    pub feeds: Vec<Option<Tensor>>,
    /// Every input file read (`-i`).
    pub files: Vec<PathBuf>,
}

impl Loaded {
    /// Drops the decoded protobuf: its initializers are a second copy of the file's weights,
    /// which the imported graph holds at their element type (`run` and `legalize` need only
    /// the graph).
    pub fn release_model(&mut self) {
        self.model = None;
    }

    /// The decoded file (kept by `inspect`).
    pub fn model(&self) -> Result<&Source> {
        self.model.as_ref().context("the decoded model was released after the import")
    }
}

/// `items` for a message, the first few of a long list and their count.
pub fn list(items: &[String]) -> String {
    list_of(items, items.len())
}

/// The `.npy` element type that carries run-time values of an ONNX type.
pub fn npy_type(ty: OnnxType) -> Option<NpyType> {
    Some(match ty {
        OnnxType::FLOAT => NpyType::F32,
        OnnxType::UINT8 => NpyType::U8,
        OnnxType::INT8 => NpyType::I8,
        OnnxType::UINT16 => NpyType::U16,
        OnnxType::INT16 => NpyType::I16,
        OnnxType::INT32 => NpyType::I32,
        _ => return None,
    })
}

/// `name: TYPE[d0,d1,…]`, numpy type names.
pub fn describe(info: &IoInfo) -> String {
    let ty = info.elem_type.numpy_name().unwrap_or(info.elem_type.name());
    match &info.dims {
        Some(d) => {
            let dims: Vec<String> = d.iter().map(|d| d.to_string()).collect();
            format!("{}: {ty}[{}]", info.name, dims.join(","))
        }
        None => format!("{}: {ty}", info.name),
    }
}

/// Reads the model and its input files and imports it. With `need_all`, every graph input
/// needs a file (`run`); otherwise only those the importer needs as constants.
///
/// Inputs the importer needs as constants (scales, zero points, shapes) are bound from their
/// files. So are weights given as graph inputs (ONNX's node tests feed them so): qnn folds
/// weights when it compiles, and the values are the same either way.
pub fn load(args: &ModelArgs, need_all: bool) -> Result<Loaded> {
    // Every later check (import, verification, compilation, the .npy reader) reads these.
    qnn_ir::limits::Limits::set_process_default(args.limits());
    let first = load_binding(args, need_all, &[])?;
    let weights: Vec<String> = weight_inputs(&first.imported.graph)
        .into_iter()
        .filter(|w| {
            first.imported.inputs.iter().zip(&first.feeds).any(|(i, f)| &i.name == w && f.is_some())
        })
        .collect();
    if weights.is_empty() {
        return Ok(first);
    }
    load_binding(args, need_all, &weights)
}

/// Graph inputs that are the weights of a conv/dense (directly or through reshapes,
/// transposes and casts), which the legalizer needs as constants.
pub fn weight_inputs(g: &Graph) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in &g.nodes {
        if !matches!(
            n.op,
            Op::QnnConv2d { .. } | Op::QnnDense { .. } | Op::Conv2d { .. } | Op::Dense
        ) {
            continue;
        }
        let Some(mut v) = n.inputs.get(1).copied() else { continue };
        loop {
            match &g.value(v).def {
                ValueDef::Input => {
                    let name = &g.value(v).name;
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                    break;
                }
                ValueDef::Node(i) => {
                    let p = &g.nodes[*i];
                    let moves =
                        matches!(p.op, Op::Reshape { .. } | Op::Transpose { .. } | Op::Cast { .. });
                    match (moves, p.inputs.as_slice()) {
                        (true, [x]) => v = *x,
                        _ => break,
                    }
                }
                ValueDef::Const(_) => break,
            }
        }
    }
    out
}

fn load_binding(args: &ModelArgs, need_all: bool, as_constants: &[String]) -> Result<Loaded> {
    let path = args.model.clone();
    if is_tflite_file(&path) {
        return load_tflite(args, need_all);
    }
    let model = Model::from_path(&path)
        .with_context(|| format!("cannot load the model {}", path.display()))?;
    let declared = model.inputs()?;
    let mut statics: std::collections::HashSet<String> =
        model.static_inputs().into_iter().collect();
    statics.extend(as_constants.iter().cloned());
    let files = assign_files(&args.inputs, &declared)?;
    let mut opts = ImportOptions {
        input_shapes: parse_shapes(&args.shapes, &declared)?,
        ..ImportOptions::default()
    };

    let mut feeds: BTreeMap<String, Tensor> = BTreeMap::new();
    let mut missing_statics = Vec::new();
    let mut missing = Vec::new();
    for (info, file) in declared.iter().zip(&files) {
        let is_static = statics.contains(&info.name);
        let Some(file) = file else {
            if is_static {
                missing_statics.push(info.name.clone());
            } else if need_all {
                missing.push(info.name.clone());
            }
            continue;
        };
        if is_static {
            let c = constants::read(file)?;
            if c.ty != info.elem_type {
                bail!(
                    "input `{}` is {} in the model, but {} holds {}",
                    info.name,
                    type_name(info.elem_type),
                    file.display(),
                    type_name(c.ty)
                );
            }
            check_shape(info, &c.shape, file, opts.input_shapes.get(&info.name))?;
            opts.bindings.insert(info.name.clone(), c);
        } else {
            let t = read_input(info, file)?;
            check_shape(info, t.shape(), file, opts.input_shapes.get(&info.name))?;
            if info.fixed_shape().is_none() && !opts.input_shapes.contains_key(&info.name) {
                opts.input_shapes.insert(info.name.clone(), t.shape().to_vec());
            }
            feeds.insert(info.name.clone(), t);
        }
    }
    if !missing_statics.is_empty() {
        bail!(
            "the model takes {} as graph input(s), but qnn needs them as constants (scales, zero \
             points, shapes): give their values with -i NAME=FILE.npy",
            quoted(&missing_statics)
        );
    }
    if !missing.is_empty() {
        return Err(missing_files(&missing, &declared));
    }
    let imported = model.import(&opts).map_err(|e| {
        let hint = declared
            .iter()
            .find(|i| i.fixed_shape().is_none() && !opts.input_shapes.contains_key(&i.name))
            .map(|i| {
                format!(
                    " (input `{}` has no fixed shape: give it with --shape {}=DIMS)",
                    i.name, i.name
                )
            })
            .unwrap_or_default();
        anyhow::Error::new(e).context(format!("cannot import {}{hint}", path.display()))
    })?;
    let feeds = imported.inputs.iter().map(|i| feeds.remove(&i.name)).collect();
    let files = files.into_iter().flatten().collect();
    Ok(Loaded { path, model: Some(Source::Onnx(Box::new(model))), imported, feeds, files })
}

/// The error for graph inputs given no `-i` file: which, and every input in order.
fn missing_files(missing: &[String], inputs: &[IoInfo]) -> anyhow::Error {
    let all: Vec<String> = inputs.iter().take(MAX_LISTED + 1).map(describe).collect();
    anyhow::anyhow!(
        "no file for {} input(s): {}. The model takes {} input(s), in this order: {}. Pass one \
         -i FILE.npy per input in that order, or -i NAME=FILE.npy",
        missing.len(),
        quoted(missing),
        inputs.len(),
        list_of(&all, inputs.len())
    )
}

/// True when the file starts like a TFLite flatbuffer (`TFL3` at bytes 4..8).
fn is_tflite_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok()
        && qnn_tflite::is_tflite(&head)
}

/// A `.tflite` model: imported (with LiteRT's builtin kernels' arithmetic), its inputs and
/// outputs described in the ONNX element types the rest of the command uses.
fn load_tflite(args: &ModelArgs, need_all: bool) -> Result<Loaded> {
    let path = args.model.clone();
    let model = qnn_tflite::Model::from_path(&path)
        .with_context(|| format!("cannot load the model {}", path.display()))?;
    let opts = qnn_tflite::ImportOptions::default();
    let t = model.import(&opts).with_context(|| format!("cannot import {}", path.display()))?;
    let io = |v: &[qnn_tflite::IoInfo]| -> Vec<IoInfo> {
        v.iter()
            .map(|i| IoInfo {
                name: i.name.clone(),
                elem_type: onnx_type(i.ty.dtype),
                dims: Some(i.ty.shape.iter().map(|&d| Dim::Fixed(d)).collect()),
            })
            .collect()
    };
    let (inputs, outputs) = (io(&t.inputs), io(&t.outputs));
    if !args.shapes.is_empty() {
        bail!("--shape: a .tflite model has fixed shapes");
    }
    let files = assign_files(&args.inputs, &inputs)?;
    let mut feeds = Vec::new();
    let mut missing = Vec::new();
    for (info, file) in inputs.iter().zip(&files) {
        match file {
            Some(file) => {
                let x = read_input(info, file)?;
                check_shape(info, x.shape(), file, None)?;
                feeds.push(Some(x));
            }
            None => {
                missing.push(info.name.clone());
                feeds.push(None);
            }
        }
    }
    if need_all && !missing.is_empty() {
        return Err(missing_files(&missing, &inputs));
    }
    let nodes = t
        .operators
        .iter()
        .map(|o| NodeSummary {
            name: format!("#{} → {}", o.index, o.output),
            op_type: o.op.clone(),
            form: match o.op.as_str() {
                "QUANTIZE" | "DEQUANTIZE" => Form::Conversion,
                "RESHAPE" | "SQUEEZE" => Form::Shape,
                _ => Form::QOperator,
            },
            fused: Vec::new(),
            qnn_nodes: o.qnn_nodes.clone(),
            macs: o.macs,
        })
        .collect();
    let imported = Imported { graph: t.graph, inputs, outputs, nodes };
    let files = files.into_iter().flatten().collect();
    Ok(Loaded { path, model: Some(Source::Tflite(model)), imported, feeds, files })
}

/// The ONNX element type that names a qnn dtype.
fn onnx_type(d: qnn_ir::DType) -> OnnxType {
    match d {
        qnn_ir::DType::U8 => OnnxType::UINT8,
        qnn_ir::DType::I8 => OnnxType::INT8,
        qnn_ir::DType::I16 => OnnxType::INT16,
        qnn_ir::DType::I32 => OnnxType::INT32,
        qnn_ir::DType::F32 => OnnxType::FLOAT,
    }
}

/// How many names a message lists before it says how many there are in all.
const MAX_LISTED: usize = 8;

fn quoted(names: &[String]) -> String {
    let shown: Vec<String> = names.iter().take(MAX_LISTED).map(|n| format!("`{n}`")).collect();
    list_of(&shown, names.len())
}

/// The first [`MAX_LISTED`] of `shown` (the first items of a list of `total`), then how many
/// there are in all: a message about a model with 100k inputs stays one line.
fn list_of(shown: &[String], total: usize) -> String {
    if total == 0 {
        return "none".into();
    }
    let head = shown.iter().take(MAX_LISTED).cloned().collect::<Vec<_>>().join(", ");
    if total <= MAX_LISTED { head } else { format!("{head}, … ({total} in all)") }
}

fn type_name(t: OnnxType) -> String {
    match t.numpy_name() {
        Some(n) => format!("{n} ({t})"),
        None => t.to_string(),
    }
}

/// Matches `-i` arguments to graph inputs: `NAME=FILE` by name, the rest in order.
fn assign_files(specs: &[String], declared: &[IoInfo]) -> Result<Vec<Option<PathBuf>>> {
    let mut files: Vec<Option<PathBuf>> = vec![None; declared.len()];
    let mut positional = Vec::new();
    for spec in specs {
        let named = spec.split_once('=').and_then(|(name, file)| {
            declared.iter().position(|d| d.name == name).map(|k| (name, k, file))
        });
        match named {
            Some((name, k, file)) => {
                if files[k].is_some() {
                    bail!("input `{name}` is given twice");
                }
                files[k] = Some(PathBuf::from(file));
            }
            None => {
                if let Some((name, _)) = spec.split_once('=')
                    && !Path::new(spec).exists()
                {
                    let names: Vec<&str> =
                        declared.iter().take(MAX_LISTED + 1).map(|d| d.name.as_str()).collect();
                    bail!(
                        "`-i {spec}`: the model has no input `{name}` (its inputs: {})",
                        list_of(
                            &names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
                            declared.len()
                        )
                    );
                }
                positional.push(PathBuf::from(spec));
            }
        }
    }
    let free: Vec<usize> = (0..declared.len()).filter(|&k| files[k].is_none()).collect();
    if positional.len() > free.len() {
        let all: Vec<String> = declared.iter().take(MAX_LISTED + 1).map(describe).collect();
        bail!(
            "{} input file(s) given for {} graph input(s) ({})",
            specs.len(),
            declared.len(),
            list_of(&all, declared.len())
        );
    }
    for (k, file) in free.into_iter().zip(positional) {
        files[k] = Some(file);
    }
    Ok(files)
}

/// `--shape NAME=1x3x224x224` (or `1,3,224,224`).
fn parse_shapes(specs: &[String], declared: &[IoInfo]) -> Result<BTreeMap<String, Vec<usize>>> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let Some((name, dims)) = spec.split_once('=') else {
            bail!("--shape {spec}: expected NAME=DIMS, e.g. --shape input=1x3x224x224");
        };
        if !declared.iter().any(|d| d.name == name) {
            bail!("--shape {spec}: the model has no input `{name}`");
        }
        let dims: Result<Vec<usize>, _> =
            dims.split(['x', ',']).filter(|d| !d.is_empty()).map(str::parse).collect();
        let dims = dims.with_context(|| format!("--shape {spec}: dimensions must be numbers"))?;
        out.insert(name.to_string(), dims);
    }
    Ok(out)
}

/// A file's shape must fit the declared one (fixed dimensions equal) and a `--shape`.
fn check_shape(
    info: &IoInfo,
    shape: &[usize],
    file: &Path,
    given: Option<&Vec<usize>>,
) -> Result<()> {
    let fits_declared = info.dims.as_ref().is_none_or(|dims| {
        dims.len() == shape.len()
            && dims.iter().zip(shape).all(|(d, &s)| !matches!(d, Dim::Fixed(f) if *f != s))
    });
    if !fits_declared || given.is_some_and(|g| g.as_slice() != shape) {
        bail!(
            "input `{}` is declared as {}{}, but {} has shape {shape:?}",
            info.name,
            describe(info),
            given.map(|g| format!(" (--shape {g:?})")).unwrap_or_default(),
            file.display()
        );
    }
    Ok(())
}

/// Reads a run-time input, checking its element type against the model's.
fn read_input(info: &IoInfo, file: &Path) -> Result<Tensor> {
    let Some(want) = npy_type(info.elem_type) else {
        bail!(
            "input `{}` has element type {}, which qnn cannot take at run time (uint8, int8, \
             uint16, int16, int32, float32)",
            info.name,
            info.elem_type
        );
    };
    let (t, got) =
        qnn_npy::read_typed(file).with_context(|| format!("cannot read input `{}`", info.name))?;
    if got != want {
        bail!(
            "input `{}` is {want} in the model, but {} holds {got}: give a {want} array",
            info.name,
            file.display()
        );
    }
    Ok(t)
}
