//! A layer prepared on the GPU ([`CudaConvOp`]): weights packed and resident, every kernel
//! argument computed once; `run` copies the input in, launches, copies the output out.

use std::sync::{Arc, Mutex};

use cudarc::driver::sys::{CUgraphInstantiate_flags, CUstreamCaptureMode};
use cudarc::driver::{
    CudaGraph, CudaSlice, CudaStream, DevicePtr, DeviceRepr, LaunchConfig, PushKernelArg,
};
use qnn_ir::DType;
use qnn_ir::FixedRounding;
use qnn_ir::backend::{DeviceConvSpec, PreparedDeviceOp, RequantLanes};

use crate::device::{Device, default_ordinal, device};
use crate::error::CudaError;
use crate::launch::{ConvArgs, DwArgs, EpilogueArgs, PackArgs, int};
use crate::layout::{GemmLayout, InputPack, Tile, choose_tile, depthwise_weights};
use crate::loader::guarded;
use crate::spec::{Checked, Family, check};

/// Choices the automatic planning makes, for tests and benchmarks that want others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Force a GEMM tile (one of [`TILES`](crate::TILES)).
    pub tile: Option<Tile>,
    /// Force the number of reduction splits (GEMM; 1 = none).
    pub splits: Option<usize>,
    /// The device (default: `QNN_CUDA_DEVICE`, else 0).
    pub ordinal: Option<usize>,
    /// Launch the kernels one by one on every run instead of replaying the CUDA graph
    /// captured at prepare time (the fallback when capture fails).
    pub direct_launches: bool,
}

/// What `run` launches, in order.
#[derive(Debug)]
enum Plan {
    Gemm { tile: Tile, splits: usize, grid: (u32, u32, u32), window_sums: bool, args: ConvArgs },
    Depthwise { args: DwArgs },
}

/// Device memory that stays for the life of the op. Only raw pointers into it are used after
/// `prepare` (in the argument structs), so none of it is ever borrowed mutably.
#[derive(Debug)]
#[allow(dead_code)] // held so that the memory lives as long as the pointers
struct Resident {
    weights: CudaSlice<i32>,
    ktab: Option<CudaSlice<i32>>,
    src: Option<CudaSlice<i32>>,
    packed_input: Option<CudaSlice<u8>>,
    window_sums: Option<CudaSlice<i32>>,
    partial: Option<CudaSlice<i32>>,
    epilogue: Vec<CudaSlice<u8>>,
}

/// The kernels of one run captured as a CUDA graph: one launch instead of several, which
/// is most of the time of a batch-1 layer.
struct Graph(CudaGraph);

// SAFETY: a CUDA graph may be used from any thread as long as no two threads use it at the
// same time; it lives in `Io`, behind the op's mutex.
unsafe impl Send for Graph {}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Graph")
    }
}

/// The buffers `run` writes from the host, with the op's stream (one run at a time).
#[derive(Debug)]
struct Io {
    stream: Arc<CudaStream>,
    input: CudaSlice<u8>,
    output: CudaSlice<u8>,
    graph: Option<Graph>,
}

/// A conv/dense layer prepared on a GPU.
#[derive(Debug)]
pub struct CudaConvOp {
    kernel: &'static str,
    device: Arc<Device>,
    plan: Plan,
    pack: Option<PackArgs>,
    epilogue: EpilogueArgs,
    input_bytes: usize,
    output_bytes: usize,
    macs: u64,
    _resident: Resident,
    io: Mutex<Io>,
}

fn drv(what: &'static str) -> impl Fn(cudarc::driver::DriverError) -> CudaError {
    move |e| CudaError::driver(what, e)
}

/// Uploads `data` (at least one element, so that every pointer is valid).
fn upload<T: DeviceRepr + Copy + Default>(
    s: &Arc<CudaStream>,
    data: &[T],
) -> Result<CudaSlice<T>, CudaError> {
    let padded;
    let data = if data.is_empty() {
        padded = [T::default()];
        &padded[..]
    } else {
        data
    };
    s.clone_htod(data).map_err(drv("cuMemcpyHtoD (prepare)"))
}

fn alloc<T: DeviceRepr + cudarc::driver::ValidAsZeroBits>(
    s: &Arc<CudaStream>,
    n: usize,
) -> Result<CudaSlice<T>, CudaError> {
    s.alloc_zeros(n.max(1)).map_err(drv("cuMemAlloc"))
}

fn ptr<T>(s: &CudaSlice<T>, stream: &CudaStream) -> u64 {
    s.device_ptr(stream).0
}

fn blocks(n: usize, per: usize) -> Result<u32, CudaError> {
    u32::try_from(n.div_ceil(per)).map_err(|_| CudaError::NotApplicable {
        kernel: "cuda-dp4a",
        why: format!("{n} threads exceed one launch"),
    })
}

impl CudaConvOp {
    /// Prepares `spec` on the GPU with the automatic choices.
    pub fn prepare(spec: &DeviceConvSpec) -> Result<Self, CudaError> {
        Self::prepare_with(spec, &Options::default())
    }

    /// Prepares `spec` (the kernel family follows from its geometry) with `options`.
    pub fn prepare_with(spec: &DeviceConvSpec, options: &Options) -> Result<Self, CudaError> {
        let family = Family::of(&spec.geometry);
        let checked = check(spec, family)?;
        crate::probe().map_err(CudaError::Unavailable)?;
        let dev = device(options.ordinal.unwrap_or_else(default_ordinal))?;
        guarded("preparing a layer", || Self::build(spec, family, &checked, dev, options))
    }

    fn build(
        spec: &DeviceConvSpec,
        family: Family,
        c: &Checked,
        dev: Arc<Device>,
        options: &Options,
    ) -> Result<Self, CudaError> {
        let g = &c.problem.geometry;
        let [oh, ow] = c.out_hw;
        let m = g.batch * oh * ow;
        let stream = dev.ctx.new_stream().map_err(drv("cuStreamCreate"))?;
        let input_bytes = g.input_len();
        let output_bytes = g.output_len() * spec.out_dtype.size_bytes();
        let input = alloc::<u8>(&stream, input_bytes.div_ceil(4) * 4)?;
        let output = alloc::<u8>(&stream, output_bytes)?;
        let (epilogue, epilogue_buffers) = upload_epilogue(&stream, c)?;
        let pack = match family {
            Family::Gemm => InputPack::gemm(g),
            Family::Depthwise => InputPack::depthwise(g),
        };
        int("packed input bytes", pack.len(g.batch))?;
        int("output elements", g.output_len())?;
        int("input elements", g.input_len())?;
        let (src, packed_input, pack_args, x) = if pack.direct {
            (None, None, None, ptr(&input, &stream))
        } else {
            let src = upload(&stream, &pack.src)?;
            let xp = alloc::<u8>(&stream, pack.len(g.batch))?;
            let args = PackArgs {
                x: ptr(&input, &stream),
                xp: ptr(&xp, &stream),
                src: ptr(&src, &stream),
                n: int("batch", g.batch)?,
                h: int("in_h", g.in_h)?,
                w: int("in_w", g.in_w)?,
                c: int("in_c", g.in_c)?,
                hp: int("padded height", pack.hp)?,
                wp: int("padded width", pack.wp)?,
                slots: int("slots", pack.slots)?,
                pad_top: int("pad", pack.pad_top)?,
                pad_left: int("pad", pack.pad_left)?,
                pad_value: c.problem.pad_value,
            };
            let x = args.xp;
            (Some(src), Some(xp), Some(args), x)
        };
        let common = |args: &mut ConvArgs| -> Result<(), CudaError> {
            args.x = x;
            args.m = int("output pixels", m)?;
            args.ohw = int("output pixels", oh * ow)?;
            args.ow = int("output width", ow)?;
            let read = pack.read_dims(g);
            args.hp = int("input height", read.h)?;
            args.wp = int("input width", read.w)?;
            args.pad_top = int("padding", read.pad_top)?;
            args.pad_left = int("padding", read.pad_left)?;
            args.pad_word = i32::from_le_bytes([c.problem.pad_value as u8; 4]);
            args.words_per_pixel = int("words per pixel", pack.words_per_pixel())?;
            args.sh = int("stride", g.strides[0])?;
            args.sw = int("stride", g.strides[1])?;
            args.out_c = int("out_c", g.out_c)?;
            args.out = ptr(&output, &stream);
            Ok(())
        };
        let (plan, weights, ktab, window_sums, partial) = match family {
            Family::Gemm => {
                let og = g.outputs_per_group();
                let k4 = g.kernel[0] * g.kernel[1] * g.channels_per_group().div_ceil(4);
                let (auto_tile, auto_splits) =
                    choose_tile(m, og, g.groups, k4, dev.multiprocessors);
                let tile = options.tile.unwrap_or(auto_tile);
                let layout = GemmLayout::new(
                    g,
                    &pack,
                    &spec.weights,
                    tile,
                    options.splits.unwrap_or(auto_splits),
                );
                int("packed weights", layout.weights.len())?;
                int("window sums", m * g.groups)?;
                let weights = upload(&stream, &layout.weights)?;
                let flat: Vec<i32> = layout.ktab.iter().flatten().copied().collect();
                let ktab = upload(&stream, &flat)?;
                let has_t3 = epilogue.t3 != 0;
                let window_sums =
                    if has_t3 { Some(alloc::<i32>(&stream, m * g.groups)?) } else { None };
                let partial = if layout.splits > 1 {
                    int("split partial sums", layout.splits * m * g.out_c)?;
                    Some(alloc::<i32>(&stream, layout.splits * m * g.out_c)?)
                } else {
                    None
                };
                let mut args = ConvArgs {
                    w: ptr(&weights, &stream),
                    ktab: ptr(&ktab, &stream),
                    wsums: window_sums.as_ref().map_or(0, |s| ptr(s, &stream)),
                    wsums_out: window_sums.as_ref().map_or(0, |s| ptr(s, &stream)),
                    partial: partial.as_ref().map_or(0, |s| ptr(s, &stream)),
                    groups: int("groups", g.groups)?,
                    og: int("outputs per group", og)?,
                    group_words: int("group words", layout.group_words)?,
                    k4: int("reduction words", layout.k4)?,
                    k4p: int("reduction words", layout.k4p)?,
                    np: int("padded outputs", layout.np)?,
                    k_per_split: int("words per split", layout.k_per_split)?,
                    splits: int("splits", layout.splits)?,
                    ..ConvArgs::default()
                };
                common(&mut args)?;
                let grid = (
                    blocks(m, tile.bm)?,
                    blocks(layout.np, tile.bn)?,
                    blocks(g.groups * layout.splits, 1)?,
                );
                if grid.1 > 65_535 || grid.2 > 65_535 {
                    return Err(CudaError::NotApplicable {
                        kernel: family.kernel(),
                        why: format!("grid {grid:?} exceeds the launch limits"),
                    });
                }
                let plan =
                    Plan::Gemm { tile, splits: layout.splits, grid, window_sums: has_t3, args };
                (plan, weights, Some(ktab), window_sums, partial)
            }
            Family::Depthwise => {
                let packed = depthwise_weights(g, &pack, &spec.weights);
                let weights = upload(&stream, &packed)?;
                let mut conv = ConvArgs::default();
                common(&mut conv)?;
                let args = DwArgs {
                    x,
                    w: ptr(&weights, &stream),
                    out: conv.out,
                    m: conv.m,
                    ohw: conv.ohw,
                    ow: conv.ow,
                    hp: conv.hp,
                    wp: conv.wp,
                    words_per_pixel: conv.words_per_pixel,
                    sh: conv.sh,
                    sw: conv.sw,
                    kw: int("kernel width", g.kernel[1])?,
                    dh: int("dilation", g.dilation[0])?,
                    dw: int("dilation", g.dilation[1])?,
                    taps: int("taps", g.kernel[0] * g.kernel[1])?,
                    out_c: conv.out_c,
                    pad_top: conv.pad_top,
                    pad_left: conv.pad_left,
                    pad_word: conv.pad_word,
                };
                int("depthwise threads", m * pack.words_per_pixel())?;
                (Plan::Depthwise { args }, weights, None, None, None)
            }
        };
        stream.synchronize().map_err(drv("cuStreamSynchronize (prepare)"))?;
        let mut op = CudaConvOp {
            kernel: family.kernel(),
            device: dev,
            plan,
            pack: pack_args,
            epilogue,
            input_bytes,
            output_bytes,
            macs: g.macs(),
            _resident: Resident {
                weights,
                ktab,
                src,
                packed_input,
                window_sums,
                partial,
                epilogue: epilogue_buffers,
            },
            io: Mutex::new(Io { stream: stream.clone(), input, output, graph: None }),
        };
        if !options.direct_launches {
            // A driver that cannot capture leaves the op on direct launches: same kernels,
            // same bits, more host overhead.
            let graph = op.capture(&stream, 1).ok();
            op.io.get_mut().unwrap_or_else(|e| e.into_inner()).graph = graph;
        }
        Ok(op)
    }

    /// `reps` runs' kernels on `stream`, captured as one graph.
    fn capture(&self, stream: &Arc<CudaStream>, reps: usize) -> Result<Graph, CudaError> {
        let mode = CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL;
        stream.begin_capture(mode).map_err(drv("cuStreamBeginCapture"))?;
        let launched = (0..reps).try_for_each(|_| self.launch(stream));
        let graph =
            stream.end_capture(CUgraphInstantiate_flags(0)).map_err(drv("cuStreamEndCapture"));
        launched?;
        let graph = graph?.ok_or(CudaError::Driver {
            what: "cuStreamEndCapture",
            error: "captured nothing".into(),
        })?;
        graph.upload().map_err(drv("cuGraphUpload"))?;
        Ok(Graph(graph))
    }

    /// Multiply-accumulates of one run.
    pub fn macs(&self) -> u64 {
        self.macs
    }

    /// The device it runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Enqueues every kernel of one run on `stream`.
    fn launch(&self, stream: &Arc<CudaStream>) -> Result<(), CudaError> {
        let go = |name: &str,
                  grid: (u32, u32, u32),
                  block: u32,
                  args: &[&dyn Arg]|
         -> Result<(), CudaError> {
            let func = self.device.function(name)?;
            let mut b = stream.launch_builder(func);
            for a in args {
                a.push(&mut b);
            }
            let cfg =
                LaunchConfig { grid_dim: grid, block_dim: (block, 1, 1), shared_mem_bytes: 0 };
            // SAFETY: the argument structs mirror the kernels' parameters (launch.rs); every
            // pointer in them addresses device memory this op owns, sized at prepare time for
            // the index ranges the kernels use (layout.rs); the op's mutex serializes runs.
            unsafe { b.launch(cfg) }.map(|_| ()).map_err(drv("cuLaunchKernel"))
        };
        if let Some(p) = &self.pack {
            let total = p.n as usize * p.hp as usize * p.wp as usize * p.slots as usize;
            go("dp4a_pack_input", (blocks(total, 256)?, 1, 1), 256, &[p])?;
        }
        match &self.plan {
            Plan::Gemm { tile, splits, grid, window_sums, args } => {
                if *window_sums {
                    let n = args.m as usize * args.groups as usize;
                    go("dp4a_window_sums", (blocks(n, 128)?, 1, 1), 128, &[args])?;
                }
                go(tile.kernel, *grid, tile.threads, &[args, &self.epilogue])?;
                if *splits > 1 {
                    let n = args.m as usize * args.out_c as usize;
                    go("dp4a_conv_reduce", (blocks(n, 256)?, 1, 1), 256, &[args, &self.epilogue])?;
                }
            }
            Plan::Depthwise { args } => {
                let n = args.m as usize * args.words_per_pixel as usize;
                go("dp4a_dw", (blocks(n, 128)?, 1, 1), 128, &[args, &self.epilogue])?;
            }
        }
        Ok(())
    }

    /// Computes the layer: `input` NHWC s8 bytes, `output` NHWC `out_dtype` bytes.
    pub fn execute(&self, input: &[u8], output: &mut [u8]) -> Result<(), CudaError> {
        let len = |what, expected, got| {
            if expected == got { Ok(()) } else { Err(CudaError::Length { what, expected, got }) }
        };
        len("input", self.input_bytes, input.len())?;
        len("output", self.output_bytes, output.len())?;
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        let io = &mut *io;
        guarded("a run", || {
            let stream = io.stream.clone();
            stream.memcpy_htod(input, &mut io.input).map_err(drv("cuMemcpyHtoD"))?;
            match &io.graph {
                Some(g) => g.0.launch().map_err(drv("cuGraphLaunch"))?,
                None => self.launch(&stream)?,
            }
            stream.memcpy_dtoh(&io.output, output).map_err(drv("cuMemcpyDtoH"))?;
            stream.synchronize().map_err(drv("cuStreamSynchronize"))
        })
    }

    /// Device time of one run with the input already resident, in seconds: `iters` runs
    /// captured as one CUDA graph (so that host launch overhead does not hide the device
    /// time), replayed `reps` times and timed with CUDA events; the median.
    pub fn device_seconds(&self, iters: usize, reps: usize) -> Result<f64, CudaError> {
        let io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        guarded("timing a layer", || {
            let s = &io.stream;
            let iters = iters.max(1);
            let graph = self.capture(s, iters)?;
            let flags = Some(cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT);
            let ctx = &self.device.ctx;
            let start = ctx.new_event(flags).map_err(drv("cuEventCreate"))?;
            let end = ctx.new_event(flags).map_err(drv("cuEventCreate"))?;
            graph.0.launch().map_err(drv("cuGraphLaunch"))?; // warm-up
            let mut times = Vec::with_capacity(reps.max(1));
            for _ in 0..reps.max(1) {
                start.record(s).map_err(drv("cuEventRecord"))?;
                graph.0.launch().map_err(drv("cuGraphLaunch"))?;
                end.record(s).map_err(drv("cuEventRecord"))?;
                end.synchronize().map_err(drv("cuEventSynchronize"))?;
                let ms = start.elapsed_ms(&end).map_err(drv("cuEventElapsedTime"))?;
                times.push(f64::from(ms) / 1e3 / iters as f64);
            }
            times.sort_by(f64::total_cmp);
            Ok(times[times.len() / 2])
        })
    }
}

/// A kernel argument of any of the argument structs.
trait Arg {
    fn push<'a>(&'a self, b: &mut cudarc::driver::LaunchArgs<'a>);
}

impl<T: DeviceRepr> Arg for T {
    fn push<'a>(&'a self, b: &mut cudarc::driver::LaunchArgs<'a>) {
        b.arg(self);
    }
}

/// Uploads the per-channel epilogue arrays (natural channel order) and fills the argument.
fn upload_epilogue(
    s: &Arc<CudaStream>,
    c: &Checked,
) -> Result<(EpilogueArgs, Vec<CudaSlice<u8>>), CudaError> {
    let view = c.epilogue.view(0);
    let mut kept = Vec::new();
    let mut put = |bytes: Vec<u8>| -> Result<u64, CudaError> {
        let b = upload(s, &bytes)?;
        let p = ptr(&b, s);
        kept.push(b);
        Ok(p)
    };
    let le32 = |v: &[i32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let le64 = |v: &[i64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let mut e = EpilogueArgs {
        bias: put(le32(view.bias))?,
        t3: match view.t3_zero_point {
            Some(t) => put(le32(t))?,
            None => 0,
        },
        zero_point: view.zero_point,
        lo: view.min,
        hi: view.max,
        out_dtype: match view.out_dtype {
            DType::U8 => 0,
            DType::I8 => 1,
            _ => 2,
        },
        ..EpilogueArgs::default()
    };
    match view.requant {
        RequantLanes::None => e.mode = 0,
        RequantLanes::Float { mult } => {
            e.mode = 1;
            e.fmult = put(mult.iter().flat_map(|x| x.to_le_bytes()).collect())?;
        }
        RequantLanes::Fixed { mult, shift1, round1, shift2, round2, rounding } => {
            e.mode = match rounding {
                FixedRounding::Upward => 2,
                FixedRounding::ToNearest => 3,
                FixedRounding::Tflite => 4,
            };
            e.qmult = put(le64(mult))?;
            e.shift1 = put(le64(shift1))?;
            e.round1 = put(le64(round1))?;
            e.shift2 = put(le64(shift2))?;
            e.round2 = put(le64(round2))?;
        }
    }
    Ok((e, kept))
}

impl PreparedDeviceOp for CudaConvOp {
    fn kernel_name(&self) -> &'static str {
        self.kernel
    }

    fn describe(&self) -> String {
        let how = match &self.plan {
            Plan::Gemm { tile, splits, .. } => {
                format!("{} tile {}×{}, {splits} split(s)", tile.kernel, tile.bm, tile.bn)
            }
            Plan::Depthwise { .. } => "dp4a_dw".into(),
        };
        let pack = if self.pack.is_some() { ", packed input" } else { "" };
        let io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        let graph =
            if io.graph.is_some() { ", one CUDA graph per run" } else { ", direct launches" };
        format!("{} on {}: {how}{pack}{graph}", self.kernel, self.device.describe())
    }

    fn run(&self, input: &[u8], output: &mut [u8]) -> Result<(), String> {
        self.execute(input, output).map_err(|e| e.to_string())
    }
}
