//! Standard output that tolerates a closed pipe: `qnn legalize MODEL | head` ends quietly
//! instead of panicking when `head` stops reading.

use std::fmt;
use std::io::{ErrorKind, Write};

/// Writes to stdout; a closed pipe ends the program (status 0, as `yes | head` does), any
/// other write error ends it with status 1.
pub fn write(args: fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// `print!` through [`write`].
macro_rules! out {
    ($($t:tt)*) => { $crate::out::write(format_args!($($t)*)) };
}

/// `println!` through [`write`].
macro_rules! outln {
    () => { $crate::out::write(format_args!("\n")) };
    ($($t:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {out, outln};
