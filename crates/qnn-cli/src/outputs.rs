//! Writing `qnn run`'s outputs all or nothing: every output goes to a temporary file in the
//! output folder first, and only when all are written (and synced) are they renamed into
//! place. A failure (a full disk, a read-only file, an unwritable type) leaves the folder as
//! it was: no truncated file, no mix of new and old outputs.
//!
//! A rename replaces a name, never writes through it: an `output_k.npy` that is a symbolic
//! link is replaced by the new file and what it pointed to is left alone. An output that would
//! replace one of the run's input files is refused before anything is written.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// One output file to write: its final name in the folder and its bytes.
#[derive(Debug)]
pub struct Pending {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// `output_<k>.npy` for `count` outputs.
pub fn names(count: usize) -> Vec<String> {
    (0..count).map(|k| format!("output_{k}.npy")).collect()
}

/// Refuses an output folder in which writing `names` would replace one of `inputs` (the
/// files the run reads: the model and the `-i` files), following links as the reads did.
pub fn check_targets(dir: &Path, names: &[String], inputs: &[PathBuf]) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("the output folder {} is not a folder", dir.display());
    }
    let read: Vec<(PathBuf, FileId)> = inputs
        .iter()
        .filter_map(|p| Some((p.clone(), FileId::of(&fs::metadata(p).ok()?)?)))
        .collect();
    for name in names {
        let target = dir.join(name);
        // The name itself (a link to an input would be replaced, not written through, but
        // an input read as OUT/output_0.npy would be).
        let Ok(meta) = fs::symlink_metadata(&target) else { continue };
        if meta.is_dir() {
            bail!("{} is a folder: qnn cannot write the output file there", target.display());
        }
        let Some(id) = FileId::of(&meta) else { continue };
        if let Some((p, _)) = read.iter().find(|(_, r)| *r == id) {
            bail!(
                "{} is one of this run's inputs ({}): writing the output there would replace \
                 it; choose another output folder",
                target.display(),
                p.display()
            );
        }
    }
    Ok(())
}

/// Writes every file of `pending` into `dir` (created if missing), all or nothing.
pub fn write_all(dir: &Path, pending: &[Pending]) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    let mut temps: Vec<PathBuf> = Vec::with_capacity(pending.len());
    let written = pending.iter().try_for_each(|p| {
        let (path, file) = create_temp(dir, &p.name)?;
        temps.push(path.clone());
        write_synced(file, &p.bytes)
            .with_context(|| format!("cannot write {} (as {})", p.name, path.display()))
    });
    if let Err(e) = written {
        remove_all(&temps);
        return Err(
            e.context(format!("no output written: {} is as it was before the run", dir.display()))
        );
    }
    for (k, (temp, p)) in temps.iter().zip(pending).enumerate() {
        if let Err(e) = fs::rename(temp, dir.join(&p.name)) {
            // Renames within one folder fail only when the folder changes under us; the
            // outputs already renamed are named so that the user can tell.
            remove_all(&temps[k..]);
            let done = pending[..k].iter().map(|p| p.name.as_str()).collect::<Vec<_>>();
            bail!(
                "cannot rename the new {} into place in {}: {e} (renamed before it: {})",
                p.name,
                dir.display(),
                if done.is_empty() { "none".to_string() } else { done.join(", ") }
            );
        }
    }
    Ok(())
}

/// Files `output_<k>.npy` in `dir` with `k` ≥ `count`: left by an earlier run of another
/// model, not outputs of this one.
pub fn stale(dir: &Path, count: usize) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<(usize, String)> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let k: usize = name.strip_prefix("output_")?.strip_suffix(".npy")?.parse().ok()?;
            (k >= count && name == format!("output_{k}.npy")).then_some((k, name))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, n)| n).collect()
}

/// A new file `.NAME.tmp-PID-N` in `dir`, created exclusively (never an existing file or a
/// link's target).
fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, File)> {
    let pid = std::process::id();
    for n in 0..100 {
        let path = dir.join(format!(".{name}.tmp-{pid}-{n}"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot create a file in the output folder {}",
                    dir.display()
                )));
            }
        }
    }
    bail!("cannot create a temporary file for {name} in {}: 100 names taken", dir.display())
}

fn write_synced(mut f: File, bytes: &[u8]) -> std::io::Result<()> {
    f.write_all(bytes)?;
    // A full disk can show only when the data is flushed.
    f.sync_all()
}

fn remove_all(paths: &[PathBuf]) {
    for p in paths {
        let _ = fs::remove_file(p);
    }
}

/// A file's identity (device and inode), to tell whether two paths are one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

impl FileId {
    #[cfg(unix)]
    fn of(m: &fs::Metadata) -> Option<FileId> {
        use std::os::unix::fs::MetadataExt;
        Some(FileId(m.dev(), m.ino()))
    }

    #[cfg(not(unix))]
    fn of(_: &fs::Metadata) -> Option<FileId> {
        None
    }
}
