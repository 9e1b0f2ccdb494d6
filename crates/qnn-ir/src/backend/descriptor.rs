//! The capability descriptor a backend registers.

use std::fmt;

/// Instruction-set architecture a backend's kernels run on.
///
/// Open: a backend for an architecture without a variant names it with [`Arch::Other`]
/// (`Arch::Other("riscv64")`, as `std::env::consts::ARCH` spells it) and registers a
/// [`TargetDescriptor`](super::TargetDescriptor) saying which triples, CPUs and features it
/// means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    Aarch64,
    /// An NVIDIA GPU driven from the host.
    Cuda,
    /// Plain Rust, any CPU.
    Portable,
    /// Any other architecture, by name (`riscv64`, `loongarch64`, a device's name).
    Other(&'static str),
}

impl Arch {
    pub const fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Cuda => "cuda",
            Arch::Portable => "portable",
            Arch::Other(name) => name,
        }
    }

    /// The CPU architecture this binary was compiled for.
    pub const fn host() -> Arch {
        if cfg!(target_arch = "x86_64") {
            Arch::X86_64
        } else if cfg!(target_arch = "aarch64") {
            Arch::Aarch64
        } else {
            Arch::Other(std::env::consts::ARCH)
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Operand signedness (data × weight) of a fast int8 dot-product instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Int8Dot {
    /// u8 data × s8 weights: x86 `vpdpbusd` (AVX-512 VNNI, AVX-VNNI).
    U8S8,
    /// s8 × s8: Arm `sdot`, NVIDIA `dp4a`.
    S8S8,
    /// u8 × u8: Arm `udot`.
    U8U8,
}

impl Int8Dot {
    pub const fn as_str(self) -> &'static str {
        match self {
            Int8Dot::U8S8 => "u8×s8",
            Int8Dot::S8S8 => "s8×s8",
            Int8Dot::U8U8 => "u8×u8",
        }
    }
}

/// Classes of kernels whose speed a cost model distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KernelClass {
    /// 8-bit operands, int32 accumulation (conv via GEMM, dense).
    Int8Gemm,
    /// 16-bit operands, int32 accumulation.
    Int16Gemm,
    /// Depthwise convolution on 8-bit operands.
    Int8Depthwise,
    /// Depthwise convolution on 16-bit operands.
    Int16Depthwise,
    /// Window sums of the data (the T3 term), in elements per cycle.
    WindowSum,
    /// Pooling windows, in input elements per cycle.
    Pool,
    /// Element-wise ops, in elements per cycle.
    Elementwise,
    /// Layout conversions (transposes), in elements per cycle.
    Layout,
}

impl KernelClass {
    pub const fn as_str(self) -> &'static str {
        match self {
            KernelClass::Int8Gemm => "int8-gemm",
            KernelClass::Int16Gemm => "int16-gemm",
            KernelClass::Int8Depthwise => "int8-depthwise",
            KernelClass::Int16Depthwise => "int16-depthwise",
            KernelClass::WindowSum => "window-sum",
            KernelClass::Pool => "pool",
            KernelClass::Elementwise => "elementwise",
            KernelClass::Layout => "layout",
        }
    }
}

/// Throughput of one kernel class on one core, for cost models.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelCost {
    pub class: KernelClass,
    /// Multiply-accumulates (or, for [`KernelClass::WindowSum`] and the classes of the
    /// kernels around convolutions, elements) per cycle.
    pub macs_per_cycle: f32,
}

/// What a backend can do, as the legalizer and cost models see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capabilities {
    /// Fast int8 dot products, by operand signedness; empty when there is none.
    pub int8_dot: &'static [Int8Dot],
    /// Whether the backend has a 16-bit multiply-accumulate into 32 bits.
    pub int16_mac: bool,
    /// Width of its vector registers in bits.
    pub vector_bits: u32,
    /// Sustained bytes per cycle from memory, for the cost of moving weights.
    pub bytes_per_cycle: f32,
    /// Per-class throughput figures.
    pub costs: &'static [KernelCost],
}

impl Capabilities {
    /// True when the backend has some fast int8 dot product.
    pub fn has_int8_dot(&self) -> bool {
        !self.int8_dot.is_empty()
    }

    /// Throughput of a kernel class, if the backend gives one.
    pub fn cost(&self, class: KernelClass) -> Option<f32> {
        self.costs.iter().find(|c| c.class == class).map(|c| c.macs_per_cycle)
    }
}

/// The descriptor a backend registers with `inventory::submit!`.
///
/// Everything here is `const` (a requirement of `inventory`), including the probe, which is a
/// plain function pointer.
#[derive(Debug, Clone, Copy)]
pub struct BackendDescriptor {
    /// Must equal [`BACKEND_ABI_VERSION`](super::BACKEND_ABI_VERSION).
    pub abi_version: u32,
    /// Stable name (`x86-vnni`), used by `QNN_BACKEND`, targets and reports.
    pub name: &'static str,
    pub arch: Arch,
    /// CPU features the kernels need (`avx512vnni`, `dotprod`, …): a named target for another
    /// machine includes the backend when its CPU has all of them.
    pub features: &'static [&'static str],
    /// Is the backend usable on this machine? `Err` says why not (missing CPU feature, no
    /// driver, …). Must not panic.
    pub probe: fn() -> Result<(), String>,
    /// Higher wins when several usable backends offer a kernel for the same op.
    pub priority: i32,
    pub capabilities: Capabilities,
    /// One line for `qnn targets`.
    pub summary: &'static str,
}

impl BackendDescriptor {
    /// Runs the probe.
    pub fn probe(&self) -> Result<(), String> {
        (self.probe)()
    }

    /// True when a CPU with `cpu_features` has every feature this backend needs.
    pub fn runs_on(&self, cpu_features: &[&str]) -> bool {
        self.features.iter().all(|f| cpu_features.contains(f))
    }
}

inventory::collect!(BackendDescriptor);
