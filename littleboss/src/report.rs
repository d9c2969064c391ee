//! What littleboss says from inside the program's own process (bypass
//! mode and a supervised child): through the `log` facade once the program
//! has set up a logger, so its lines arrive the program's way (a `tracing`
//! subscriber gets them too, through `tracing-log`, which
//! `tracing_subscriber::fmt().init()` installs); on stderr as
//! `littleboss: ...` lines, like the supervisor's own, when it has not, so
//! that nothing is lost.
//!
//! `log` rather than `tracing`: every Rust logger and subscriber reads it,
//! it costs a few kilobytes, and these are one-off lines, with no spans.

use std::fmt;

/// The target of every record, for filters (`RUST_LOG=littleboss=warn`).
pub(crate) const TARGET: &str = "littleboss";

/// Whether the program has set up a logger: loggers raise the maximum
/// level from `Off` when they are installed.
fn logger_installed() -> bool {
    log::max_level() != log::LevelFilter::Off
}

/// Says `args` at `level`.
pub(crate) fn say(level: log::Level, args: fmt::Arguments<'_>) {
    if logger_installed() {
        log::log!(target: TARGET, level, "{args}");
    } else {
        crate::log::write_line(format_args!("littleboss: {args}"));
    }
}

/// Says `message` as an error and exits with `code`, after the logger has
/// written what it holds.
pub(crate) fn fail(code: i32, message: impl fmt::Display) -> ! {
    say(log::Level::Error, format_args!("{message}"));
    exit(code)
}

/// Ends the program's process with `code`, its logger flushed first: a
/// buffering logger would lose the lines saying why (`process::exit` runs
/// no destructor). Flushed on a thread of its own, waited for
/// [`FLUSH_PATIENCE`] at most: a flush that never returns (a network sink
/// gone quiet, a lock a stuck thread holds) must not keep an orphan, or a
/// program told twice to stop, alive.
pub(crate) fn exit(code: i32) -> ! {
    patiently("littleboss-flush", || log::logger().flush());
    std::process::exit(code)
}

/// [`say`] waited for [`FLUSH_PATIENCE`] at most: for a line just before a
/// deadline's exit, which a logger that blocks (a stuck sink, a lock a
/// stuck thread holds) must not put off for ever.
pub(crate) fn say_patiently(level: log::Level, message: String) {
    patiently("littleboss-say", move || {
        say(level, format_args!("{message}"));
    });
}

/// [`say`] on a thread of its own, not waited for: for a line on a thread
/// that must go on at once (the signal thread, to the next signal), with
/// a logger that may block. One at a time: while a logger is stuck on
/// one, the others are let go unsaid, rather than each keeping a thread.
pub(crate) fn say_detached(level: log::Level, message: String) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static SAYING: AtomicBool = AtomicBool::new(false);
    if SAYING.swap(true, Ordering::AcqRel) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("littleboss-say".into())
        .spawn(move || {
            say(level, format_args!("{message}"));
            SAYING.store(false, Ordering::Release);
        });
    if spawned.is_err() {
        SAYING.store(false, Ordering::Release);
    }
}

/// [`say`] on a thread of its own, waited for [`ASIDE_PATIENCE`] at
/// most: for a line at a deadline whose work must go on (a logger that
/// blocks must not hold it up), but which the process's end right after
/// should not cut off either.
#[cfg(feature = "http")]
pub(crate) fn say_aside(level: log::Level, message: String) {
    patiently_for("littleboss-say", ASIDE_PATIENCE, move || {
        say(level, format_args!("{message}"));
    });
}

/// How long [`say_aside`] waits for its line.
#[cfg(feature = "http")]
const ASIDE_PATIENCE: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs `work` on a thread of its own (named `name`), waiting for it
/// [`FLUSH_PATIENCE`] at most.
fn patiently(name: &str, work: impl FnOnce() + Send + 'static) {
    patiently_for(name, FLUSH_PATIENCE, work);
}

/// Runs `work` on a thread of its own (named `name`), waiting for it
/// `patience` at most.
fn patiently_for(name: &str, patience: std::time::Duration, work: impl FnOnce() + Send + 'static) {
    let (finished, done) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            work();
            let _ = finished.send(());
        });
    if spawned.is_ok() {
        let _ = done.recv_timeout(patience);
    }
}

/// How long an exit waits for the program's logger to flush (and a line
/// said patiently, for it to be said).
const FLUSH_PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);

/// `warning!("...")`: a warning from inside the program's process.
macro_rules! warning {
    ($($arg:tt)*) => {
        $crate::report::say(::log::Level::Warn, format_args!($($arg)*))
    };
}
pub(crate) use warning;

#[cfg(test)]
mod tests {
    use super::*;

    /// A logger that keeps what it is given.
    struct Keep(std::sync::Mutex<Vec<String>>);

    impl log::Log for Keep {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            let line = format!("{} {} {}", record.level(), record.target(), record.args());
            self.0.lock().unwrap().push(line);
        }
        fn flush(&self) {}
    }

    #[test]
    fn a_programs_logger_gets_the_lines() {
        static KEEP: Keep = Keep(std::sync::Mutex::new(Vec::new()));
        assert!(!logger_installed(), "no logger before the program sets one");
        log::set_logger(&KEEP).unwrap();
        log::set_max_level(log::LevelFilter::Info);
        warning!("the supervisor is gone; {}", "lameduck");
        let kept = KEEP.0.lock().unwrap();
        assert_eq!(*kept, ["WARN littleboss the supervisor is gone; lameduck"]);
    }
}
