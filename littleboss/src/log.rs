//! Log lines on stderr, each written with a single `write`.
//!
//! The supervisor and its children share stderr; `eprintln!` writes a line
//! in pieces, so lines of two processes can interleave mid-line. One write
//! of a whole line (shorter than PIPE_BUF) is atomic.

use std::io::Write;

/// Writes `line` and a newline to stderr in one `write`.
pub(crate) fn write_line(line: std::fmt::Arguments<'_>) {
    let mut text = line.to_string();
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// `log!("...")`: a `littleboss: ...` line on stderr, written at once.
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::write_line(format_args!("littleboss: {}", format_args!($($arg)*)))
    };
}
pub(crate) use log;
