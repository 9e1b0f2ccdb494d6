//! Looking at the machine: which tools are installed, and installing missing ones on request.
//! The decisions made from what is found live in [`crate::target`].

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::steps::Cmd;
use crate::target::{MissingTools, Probe, cargo_target_var, spec};

/// How long a container engine may take to answer `info` before we call it silent.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(20);

/// Finds `program` on `PATH` (or checks it when it is a path).
pub fn which(program: &str) -> Option<PathBuf> {
    let p = Path::new(program);
    if p.components().count() > 1 {
        return p.is_file().then(|| p.to_path_buf());
    }
    env::split_paths(&env::var_os("PATH")?).map(|d| d.join(program)).find(|c| c.is_file())
}

/// Runs a command with no output, true when it exits 0 within `timeout`.
fn answers(program: &str, args: &[&str], timeout: Duration) -> bool {
    let Ok(mut child) = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if start.elapsed() < timeout => thread::sleep(Duration::from_millis(100)),
            _ => {
                // A hung engine (a dead daemon socket) counts as silent; reap our own child.
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

/// Output of a command that must succeed.
fn output_of(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("could not run `{program}`"))?;
    if !out.status.success() {
        bail!("`{program} {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The host triple from `rustc -vV`.
pub fn parse_host_triple(rustc_vv: &str) -> Option<String> {
    rustc_vv.lines().find_map(|l| l.strip_prefix("host: ")).map(|s| s.trim().to_string())
}

pub fn host_triple() -> Result<String> {
    let vv = output_of("rustc", &["-vV"])?;
    parse_host_triple(&vv).context("`rustc -vV` printed no host triple")
}

/// True when we run as root (uid 0): install commands need no `sudo`.
pub fn is_root() -> bool {
    output_of("id", &["-u"]).is_ok_and(|s| s.trim() == "0")
}

/// True when this user can install packages: root, or `sudo` without a password.
pub fn can_install(root: bool) -> bool {
    root || (which("sudo").is_some() && answers("sudo", &["-n", "true"], Duration::from_secs(10)))
}

/// `rustup component add COMPONENTS`, printed first.
pub fn install_components(components: &[&str]) -> Result<()> {
    let cmd = Cmd::new("rustup").args(["component", "add"]).args(components.iter().copied());
    println!("    $ {cmd}");
    cmd.run().map_err(anyhow::Error::msg).with_context(|| format!("`{cmd}` failed"))
}

/// `apt-get update` and an unattended `apt-get install PACKAGES` (no recommends), each
/// printed first; `sudo` unless `root`.
pub fn install_apt(root: bool, packages: &[&str]) -> Result<()> {
    let privileged =
        |program: &str| if root { Cmd::new(program) } else { Cmd::new("sudo").arg(program) };
    let cmds = [
        privileged("apt-get").arg("update"),
        privileged("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages.iter().copied())
            .env("DEBIAN_FRONTEND", "noninteractive"),
    ];
    for cmd in cmds {
        println!("    $ {cmd}");
        cmd.run().map_err(anyhow::Error::msg).with_context(|| format!("`{cmd}` failed"))?;
    }
    Ok(())
}

/// True in CI (the `CI` variable that CI services set).
pub fn in_ci() -> bool {
    env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn non_empty_var(key: &str) -> Option<String> {
    env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// True when the Rust standard library for `triple` is in the active toolchain's sysroot
/// (works with or without rustup).
fn rust_target_installed(triple: &str) -> bool {
    output_of("rustc", &["--print", "sysroot"])
        .is_ok_and(|s| Path::new(s.trim()).join("lib/rustlib").join(triple).join("lib").is_dir())
}

/// The container engine `cross` would use, if it answers: `CROSS_CONTAINER_ENGINE`, else
/// docker, else podman (cross's own order).
fn container_engine() -> Option<String> {
    let candidates = match non_empty_var("CROSS_CONTAINER_ENGINE") {
        Some(e) => vec![e],
        None => vec!["docker".to_string(), "podman".to_string()],
    };
    candidates.into_iter().find(|e| which(e).is_some() && answers(e, &["info"], ENGINE_TIMEOUT))
}

/// Looks at the machine for building and running `triple`.
pub fn probe(triple: &str) -> Result<Probe> {
    let spec = spec(triple);
    let user_runner = non_empty_var(&cargo_target_var(triple, "RUNNER"));
    let user_linker = non_empty_var(&cargo_target_var(triple, "LINKER"));
    let linker = match (&user_linker, spec) {
        // A runner-style value may carry arguments; the program is its first word.
        (Some(l), _) => l.split_whitespace().next().is_some_and(|p| which(p).is_some()),
        (None, Some(s)) => which(s.linker).is_some(),
        (None, None) => true,
    };
    let cross = which("cross").is_some();
    Ok(Probe {
        host: host_triple()?,
        root: is_root(),
        user_runner,
        user_linker,
        cross,
        container_engine: if cross { container_engine() } else { None },
        rust_target: rust_target_installed(triple),
        linker,
        libc: spec.is_none_or(|s| Path::new(s.libc_marker).is_file()),
        qemu: spec.and_then(|s| {
            [s.qemu, s.qemu_static].into_iter().find(|q| which(q).is_some()).map(String::from)
        }),
    })
}

/// Installs what `missing` lists: `rustup target add`, then `apt-get update` and an
/// unattended `apt-get install` (no recommends: qemu-user would pull in X11 and docs).
pub fn install(missing: &MissingTools) -> Result<()> {
    if !missing.installable() {
        bail!("{missing}");
    }
    let mut cmds: Vec<Cmd> = missing
        .rust_targets()
        .iter()
        .map(|t| Cmd::new("rustup").args(["target", "add", t]))
        .collect();
    let packages = missing.apt_packages();
    if !packages.is_empty() {
        if which("apt-get").is_none() {
            bail!(
                "this machine has no apt-get: install the equivalent of the Debian packages {} \
                 with its package manager",
                packages.join(" ")
            );
        }
        cmds.push(missing.privileged("apt-get").arg("update"));
        cmds.push(
            missing
                .privileged("apt-get")
                .args(["install", "-y", "--no-install-recommends"])
                .args(packages)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        );
    }
    for cmd in cmds {
        println!("    $ {cmd}");
        cmd.run().map_err(anyhow::Error::msg).with_context(|| format!("`{cmd}` failed"))?;
    }
    Ok(())
}

/// The rustup components the host steps need that `cargo` cannot find (`rustfmt`, `clippy`).
pub fn missing_components() -> Vec<&'static str> {
    [("fmt", "rustfmt"), ("clippy", "clippy")]
        .into_iter()
        .filter(|(sub, _)| !answers("cargo", &[sub, "--version"], Duration::from_secs(60)))
        .map(|(_, component)| component)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_triple_from_rustc() {
        let vv = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\n";
        assert_eq!(parse_host_triple(vv).as_deref(), Some("x86_64-unknown-linux-gnu"));
        assert_eq!(parse_host_triple("rustc 1.95.0\n"), None);
    }

    #[test]
    fn which_finds_a_shell_and_rejects_nonsense() {
        assert!(which("sh").is_some());
        assert!(which("no-such-tool-qnn-xtask").is_none());
        assert!(which("/no/such/path/tool").is_none());
    }
}
