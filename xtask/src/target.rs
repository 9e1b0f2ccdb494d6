//! How to build and run for a target triple: natively, through `cross`, or with a cross linker
//! and a runner (qemu, or one the user supplies).
//!
//! The decision is a pure function of what the machine has ([`Probe`], gathered in
//! [`crate::tools`]) so that it can be unit-tested; `cargo xtask test --target …` and
//! `cargo xtask bench --target …` both call [`select`] and then ask the chosen [`Execution`]
//! for their cargo command lines.
//!
//! Order of preference:
//! 1. the host triple: plain cargo;
//! 2. a runner in `CARGO_TARGET_<TRIPLE>_RUNNER` (an ssh wrapper to a board, say): cargo with the
//!    cross linker, that runner, and no emulation. It wins over `cross`, whose container could
//!    not reach the board;
//! 3. `cross`, when it is installed and its container engine answers (`docker info`/`podman info`);
//! 4. cargo with the cross linker and the qemu runner of `.cargo/config.toml`.
//!
//! When the chosen way lacks a tool, [`select`] returns what is missing with the exact install
//! command instead.

use std::fmt;

use crate::steps::Cmd;

/// The aarch64 Linux target the Arm backends are tested on.
pub const AARCH64: &str = "aarch64-unknown-linux-gnu";

/// What building and emulating one target needs on a Debian/Ubuntu host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetSpec {
    pub triple: &'static str,
    /// The cross linker `.cargo/config.toml` names.
    pub linker: &'static str,
    /// Root of the target's C library (the `-L` of the qemu runner).
    pub sysroot: &'static str,
    /// A file that exists once the target's C library is installed.
    pub libc_marker: &'static str,
    /// The user-mode emulator `.cargo/config.toml` names as runner.
    pub qemu: &'static str,
    /// The statically linked emulator some distributions ship instead.
    pub qemu_static: &'static str,
    pub apt_linker: &'static str,
    pub apt_libc: &'static str,
    pub apt_qemu: &'static str,
}

/// The targets this xtask knows how to set up without `cross`.
pub const TARGETS: &[TargetSpec] = &[TargetSpec {
    triple: AARCH64,
    linker: "aarch64-linux-gnu-gcc",
    sysroot: "/usr/aarch64-linux-gnu",
    libc_marker: "/usr/aarch64-linux-gnu/lib/crt1.o",
    qemu: "qemu-aarch64",
    qemu_static: "qemu-aarch64-static",
    apt_linker: "gcc-aarch64-linux-gnu",
    apt_libc: "libc6-dev-arm64-cross",
    apt_qemu: "qemu-user",
}];

pub fn spec(triple: &str) -> Option<&'static TargetSpec> {
    TARGETS.iter().find(|t| t.triple == triple)
}

/// Cargo's per-target environment variable: `CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER`.
pub fn cargo_target_var(triple: &str, key: &str) -> String {
    let t: String = triple
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
        .collect();
    format!("CARGO_TARGET_{t}_{key}")
}

/// What the machine has, as far as building and running for one target goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Probe {
    /// `rustc -vV`'s host triple.
    pub host: String,
    /// Whether we run as root (then install commands need no `sudo`).
    pub root: bool,
    /// `CARGO_TARGET_<TRIPLE>_RUNNER`, when set and not empty.
    pub user_runner: Option<String>,
    /// `CARGO_TARGET_<TRIPLE>_LINKER`, when set and not empty.
    pub user_linker: Option<String>,
    /// `cross` is on `PATH`.
    pub cross: bool,
    /// The container engine whose `info` answered (`docker`, `podman`); only probed when
    /// `cross` is installed.
    pub container_engine: Option<String>,
    /// The Rust standard library for the target is installed.
    pub rust_target: bool,
    /// The linker (the user's, or the spec's) is on `PATH`.
    pub linker: bool,
    /// The target's C library is installed.
    pub libc: bool,
    /// The emulator found on `PATH`: the spec's `qemu`, else its `qemu_static`.
    pub qemu: Option<String>,
}

/// The runner a local cargo build uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runner {
    /// The qemu runner of `.cargo/config.toml`.
    ConfiguredQemu,
    /// Another qemu binary (`qemu-aarch64-static`) with the target's sysroot, set through
    /// `CARGO_TARGET_<TRIPLE>_RUNNER` for the commands xtask starts.
    Qemu { binary: String, sysroot: String },
    /// The user's `CARGO_TARGET_<TRIPLE>_RUNNER`, left as it is.
    User(String),
}

/// How cargo commands for the target are run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    /// The target is the host.
    Native,
    /// `cross` in a container (qemu inside it for foreign targets).
    Cross { engine: String },
    /// cargo with the cross linker and a runner.
    Local(Runner),
}

impl Execution {
    /// True when the binaries run under an emulator: timings mean nothing, property tests are
    /// scaled down, and `QEMU_CPU` selects the CPU model.
    pub fn emulated(&self) -> bool {
        match self {
            Execution::Native | Execution::Local(Runner::User(_)) => false,
            Execution::Cross { .. } | Execution::Local(_) => true,
        }
    }

    /// A cargo (or cross) command for `triple`: `subcommand --target triple args…`, with the
    /// environment this way of running needs. `env` are the variables the test binaries must
    /// see (`QEMU_CPU`, `QNN_PROPTEST_CASES`); `cross` is told to pass them into its container.
    pub fn cargo(
        &self,
        triple: &str,
        subcommand: &str,
        args: &[&str],
        env: &[(&str, String)],
    ) -> Cmd {
        let program = match self {
            Execution::Cross { .. } => "cross",
            _ => "cargo",
        };
        let mut cmd =
            Cmd::new(program).arg(subcommand).args(["--target", triple]).args(args.iter().copied());
        match self {
            Execution::Native | Execution::Local(Runner::ConfiguredQemu | Runner::User(_)) => {}
            Execution::Local(Runner::Qemu { binary, sysroot }) => {
                cmd = cmd.env(cargo_target_var(triple, "RUNNER"), format!("{binary} -L {sysroot}"));
            }
            Execution::Cross { engine } => {
                // cross passes only CARGO_*/CROSS_* and a few others into its container; the
                // list is whitespace-separated (cross's `build.env.passthrough`).
                let mut pass: Vec<String> = std::env::var("CROSS_BUILD_ENV_PASSTHROUGH")
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(String::from)
                    .collect();
                for (k, _) in env {
                    if !pass.iter().any(|p| p == k) {
                        pass.push((*k).to_string());
                    }
                }
                cmd = cmd.env("CROSS_CONTAINER_ENGINE", engine.as_str());
                if !pass.is_empty() {
                    cmd = cmd.env("CROSS_BUILD_ENV_PASSTHROUGH", pass.join(" "));
                }
            }
        }
        for (k, v) in env {
            cmd = cmd.env(*k, v.as_str());
        }
        cmd
    }
}

/// One line for the user: which way was chosen, and why.
impl fmt::Display for Execution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Execution::Native => f.write_str("native cargo (the target is the host)"),
            Execution::Cross { engine } => {
                write!(
                    f,
                    "`cross` (container engine `{engine}` answers; qemu inside the container)"
                )
            }
            Execution::Local(Runner::ConfiguredQemu) => {
                f.write_str("cargo with the cross linker and the qemu runner of .cargo/config.toml")
            }
            Execution::Local(Runner::Qemu { binary, .. }) => write!(
                f,
                "cargo with the cross linker and `{binary}` as runner \
                 (the qemu of .cargo/config.toml is not installed)"
            ),
            Execution::Local(Runner::User(r)) => {
                write!(f, "cargo with the cross linker and your runner `{r}`")
            }
        }
    }
}

/// Why `cross` was not chosen, for the line that says how the target is run; `None` when it
/// was, or when the question does not arise (the host triple).
pub fn why_not_cross(triple: &str, probe: &Probe, prefs: Prefs) -> Option<&'static str> {
    if triple == probe.host {
        None
    } else if probe.user_runner.is_some() {
        Some("a runner set in CARGO_TARGET_<TRIPLE>_RUNNER wins over `cross`")
    } else if prefs.no_cross {
        Some("--no-cross")
    } else if !probe.cross {
        Some("`cross` is not installed")
    } else if probe.container_engine.is_none() {
        Some("`cross` is installed, but neither `docker info` nor `podman info` answers")
    } else {
        None
    }
}

/// A tool the chosen way of running lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    RustTarget(String),
    /// A Debian package, with what it provides.
    Apt {
        package: String,
        provides: String,
    },
    /// A tool without a package we know (a user-named linker).
    Other(String),
}

/// What to do about missing tools: a message with the exact install commands, and the
/// commands themselves for `--install`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTools {
    pub triple: String,
    pub missing: Vec<Missing>,
    pub root: bool,
}

impl MissingTools {
    /// Rust targets to add with rustup.
    pub fn rust_targets(&self) -> Vec<&str> {
        self.missing
            .iter()
            .filter_map(|m| match m {
                Missing::RustTarget(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Debian packages to install.
    pub fn apt_packages(&self) -> Vec<&str> {
        self.missing
            .iter()
            .filter_map(|m| match m {
                Missing::Apt { package, .. } => Some(package.as_str()),
                _ => None,
            })
            .collect()
    }

    /// `sudo` for a user, nothing for root.
    pub fn privileged(&self, program: &str) -> Cmd {
        if self.root { Cmd::new(program) } else { Cmd::new("sudo").arg(program) }
    }

    /// What a user types: `rustup target add …`, then `[sudo] apt-get install …` with the
    /// missing packages.
    pub fn install_commands(&self) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        for t in self.rust_targets() {
            cmds.push(Cmd::new("rustup").args(["target", "add", t]));
        }
        let packages = self.apt_packages();
        if !packages.is_empty() {
            cmds.push(self.privileged("apt-get").arg("install").args(packages));
        }
        cmds
    }

    /// True when `--install` can fix everything (no tool without a known package).
    pub fn installable(&self) -> bool {
        !self.missing.iter().any(|m| matches!(m, Missing::Other(_)))
    }
}

impl fmt::Display for MissingTools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "building and running for {} needs tools this machine lacks:", self.triple)?;
        for m in &self.missing {
            match m {
                Missing::RustTarget(t) => writeln!(f, "  - the Rust standard library for {t}")?,
                Missing::Apt { provides, .. } => writeln!(f, "  - {provides}")?,
                Missing::Other(what) => writeln!(f, "  - {what}")?,
            }
        }
        let cmds = self.install_commands();
        if !cmds.is_empty() {
            writeln!(f, "install them with:")?;
            for c in &cmds {
                writeln!(f, "    {c}")?;
            }
        }
        write!(
            f,
            "or rerun with `--install` to let xtask run {}, or install `cross` with a \
             working docker or podman.",
            if cmds.len() == 1 { "it" } else { "them" }
        )
    }
}

/// Preferences from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prefs {
    /// `--no-cross`: build locally even when `cross` would work.
    pub no_cross: bool,
}

/// Chooses how to build and run for `triple` on a machine described by `probe`.
pub fn select(triple: &str, probe: &Probe, prefs: Prefs) -> Result<Execution, MissingTools> {
    if triple == probe.host {
        return Ok(Execution::Native);
    }
    let spec = spec(triple);
    let fail = |missing: Vec<Missing>| MissingTools {
        triple: triple.to_string(),
        missing,
        root: probe.root,
    };

    if probe.user_runner.is_none()
        && !prefs.no_cross
        && probe.cross
        && let Some(engine) = &probe.container_engine
    {
        return Ok(Execution::Cross { engine: engine.clone() });
    }

    let mut missing = Vec::new();
    if !probe.rust_target {
        missing.push(Missing::RustTarget(triple.to_string()));
    }
    if !probe.linker {
        match (&probe.user_linker, spec) {
            (Some(l), _) => missing.push(Missing::Other(format!(
                "the linker `{l}` named by {}",
                cargo_target_var(triple, "LINKER")
            ))),
            (None, Some(s)) => missing.push(Missing::Apt {
                package: s.apt_linker.into(),
                provides: format!("the cross linker `{}`", s.linker),
            }),
            (None, None) => {}
        }
    }
    if let Some(s) = spec
        && !probe.libc
    {
        missing.push(Missing::Apt {
            package: s.apt_libc.into(),
            provides: format!("the C library for {triple} ({})", s.sysroot),
        });
    }

    if let Some(r) = &probe.user_runner {
        return if missing.is_empty() {
            Ok(Execution::Local(Runner::User(r.clone())))
        } else {
            Err(fail(missing))
        };
    }
    let Some(s) = spec else {
        missing.push(Missing::Other(format!(
            "a way to run {triple} binaries: xtask knows the tools for {} only; install `cross` \
             with docker or podman, or set {}",
            TARGETS.iter().map(|t| t.triple).collect::<Vec<_>>().join(", "),
            cargo_target_var(triple, "RUNNER")
        )));
        return Err(fail(missing));
    };
    let runner = match probe.qemu.as_deref() {
        Some(q) if q == s.qemu => Some(Runner::ConfiguredQemu),
        Some(q) => Some(Runner::Qemu { binary: q.to_string(), sysroot: s.sysroot.to_string() }),
        None => {
            missing.push(Missing::Apt {
                package: s.apt_qemu.into(),
                provides: format!("the user-mode emulator `{}` (the test runner)", s.qemu),
            });
            None
        }
    };
    match runner {
        Some(r) if missing.is_empty() => Ok(Execution::Local(r)),
        _ => Err(fail(missing)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Debian host with everything installed but `cross`.
    fn ready() -> Probe {
        Probe {
            host: "x86_64-unknown-linux-gnu".into(),
            root: false,
            user_runner: None,
            user_linker: None,
            cross: false,
            container_engine: None,
            rust_target: true,
            linker: true,
            libc: true,
            qemu: Some("qemu-aarch64".into()),
        }
    }

    #[test]
    fn runner_variable_names() {
        assert_eq!(
            cargo_target_var(AARCH64, "RUNNER"),
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"
        );
        assert_eq!(
            cargo_target_var("thumbv7em-none-eabihf", "LINKER"),
            "CARGO_TARGET_THUMBV7EM_NONE_EABIHF_LINKER"
        );
    }

    #[test]
    fn host_triple_runs_natively() {
        let p = Probe { rust_target: false, linker: false, qemu: None, ..ready() };
        assert_eq!(select("x86_64-unknown-linux-gnu", &p, Prefs::default()), Ok(Execution::Native));
    }

    #[test]
    fn local_qemu_when_cross_is_absent_or_its_engine_is_silent() {
        let want = Ok(Execution::Local(Runner::ConfiguredQemu));
        assert_eq!(select(AARCH64, &ready(), Prefs::default()), want);
        let no_engine = Probe { cross: true, container_engine: None, ..ready() };
        assert_eq!(select(AARCH64, &no_engine, Prefs::default()), want);
    }

    #[test]
    fn cross_when_installed_and_its_engine_answers() {
        let p = Probe { cross: true, container_engine: Some("podman".into()), ..ready() };
        assert_eq!(
            select(AARCH64, &p, Prefs::default()),
            Ok(Execution::Cross { engine: "podman".into() })
        );
        // cross needs none of the local tools.
        let bare =
            Probe { rust_target: false, linker: false, libc: false, qemu: None, ..p.clone() };
        assert_eq!(
            select(AARCH64, &bare, Prefs::default()),
            Ok(Execution::Cross { engine: "podman".into() })
        );
        // --no-cross overrides it.
        assert_eq!(
            select(AARCH64, &p, Prefs { no_cross: true }),
            Ok(Execution::Local(Runner::ConfiguredQemu))
        );
    }

    #[test]
    fn user_runner_wins_over_cross_and_needs_no_qemu() {
        let p = Probe {
            user_runner: Some("ssh-run pi4".into()),
            cross: true,
            container_engine: Some("docker".into()),
            qemu: None,
            ..ready()
        };
        let e = select(AARCH64, &p, Prefs::default()).unwrap();
        assert_eq!(e, Execution::Local(Runner::User("ssh-run pi4".into())));
        assert!(!e.emulated());
        // It still needs the target and the linker to build.
        let p = Probe { rust_target: false, ..p };
        let err = select(AARCH64, &p, Prefs::default()).unwrap_err();
        assert_eq!(err.missing, [Missing::RustTarget(AARCH64.into())]);
    }

    #[test]
    fn static_qemu_is_used_through_the_runner_variable() {
        let p = Probe { qemu: Some("qemu-aarch64-static".into()), ..ready() };
        let e = select(AARCH64, &p, Prefs::default()).unwrap();
        let cmd = e.cargo(AARCH64, "test", &["-p", "qnn-ir"], &[("QEMU_CPU", "max".into())]);
        assert_eq!(
            cmd.env_value("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"),
            Some("qemu-aarch64-static -L /usr/aarch64-linux-gnu")
        );
        assert_eq!(cmd.env_value("QEMU_CPU"), Some("max"));
        assert!(e.emulated());
    }

    #[test]
    fn missing_tools_give_the_exact_install_commands() {
        let bare = Probe { rust_target: false, linker: false, libc: false, qemu: None, ..ready() };
        let err = select(AARCH64, &bare, Prefs::default()).unwrap_err();
        let cmds: Vec<String> = err.install_commands().iter().map(ToString::to_string).collect();
        assert_eq!(
            cmds,
            [
                "rustup target add aarch64-unknown-linux-gnu",
                "sudo apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user",
            ]
        );
        assert!(err.installable());
        let text = err.to_string();
        assert!(text.contains(
            "\n    sudo apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user\n"
        ));

        // Only what is missing, and no sudo for root.
        let p = Probe { root: true, qemu: None, ..ready() };
        let cmds: Vec<String> = select(AARCH64, &p, Prefs::default())
            .unwrap_err()
            .install_commands()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(cmds, ["apt-get install qemu-user"]);
    }

    #[test]
    fn user_linker_that_is_missing_cannot_be_installed() {
        let p = Probe { user_linker: Some("my-ld".into()), linker: false, ..ready() };
        let err = select(AARCH64, &p, Prefs::default()).unwrap_err();
        assert!(!err.installable());
        assert!(err.to_string().contains("`my-ld`"));
    }

    #[test]
    fn unknown_target_needs_cross_or_a_runner() {
        let t = "riscv64gc-unknown-linux-gnu";
        let err = select(t, &ready(), Prefs::default()).unwrap_err();
        assert!(err.to_string().contains("CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_RUNNER"));
        let p = Probe { user_runner: Some("ssh-run board".into()), ..ready() };
        assert_eq!(
            select(t, &p, Prefs::default()),
            Ok(Execution::Local(Runner::User("ssh-run board".into())))
        );
    }

    #[test]
    fn cross_is_told_to_pass_the_test_environment_through() {
        let e = Execution::Cross { engine: "docker".into() };
        let cmd = e.cargo(AARCH64, "test", &["--no-run"], &[("QEMU_CPU", "neoverse-n1".into())]);
        assert_eq!(cmd.program, "cross");
        assert_eq!(cmd.args, ["test", "--target", AARCH64, "--no-run"]);
        assert_eq!(cmd.env_value("CROSS_CONTAINER_ENGINE"), Some("docker"));
        let pass = cmd.env_value("CROSS_BUILD_ENV_PASSTHROUGH").unwrap();
        assert!(pass.split_whitespace().any(|v| v == "QEMU_CPU"), "{pass}");
    }

    #[test]
    fn the_reason_for_not_using_cross_is_given() {
        let p = Probe { cross: true, container_engine: Some("docker".into()), ..ready() };
        assert_eq!(why_not_cross(AARCH64, &p, Prefs::default()), None);
        assert_eq!(why_not_cross(AARCH64, &p, Prefs { no_cross: true }), Some("--no-cross"));
        assert_eq!(
            why_not_cross(AARCH64, &ready(), Prefs::default()),
            Some("`cross` is not installed")
        );
        let silent = Probe { container_engine: None, ..p.clone() };
        assert!(why_not_cross(AARCH64, &silent, Prefs::default()).unwrap().contains("docker info"));
        let runner = Probe { user_runner: Some("r".into()), ..p };
        assert!(why_not_cross(AARCH64, &runner, Prefs::default()).unwrap().contains("runner"));
        assert_eq!(why_not_cross("x86_64-unknown-linux-gnu", &ready(), Prefs::default()), None);
    }

    #[test]
    fn every_way_is_explained() {
        for e in [
            Execution::Native,
            Execution::Cross { engine: "docker".into() },
            Execution::Local(Runner::ConfiguredQemu),
            Execution::Local(Runner::Qemu { binary: "q".into(), sysroot: "/s".into() }),
            Execution::Local(Runner::User("r".into())),
        ] {
            assert!(!e.to_string().is_empty());
        }
    }
}
