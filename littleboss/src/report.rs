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
/// A filter can turn away littleboss's informational lines, not its
/// warnings and errors: those go to stderr instead (see [`say`]).
pub(crate) const TARGET: &str = "littleboss";

/// Whether the program has set up a logger: [`log::logger`] is no longer
/// the stand-in it was as the binary started (noted before `main`, always
/// on Linux). Not the level: a program may raise it with no logger set,
/// from its own `-v`, and littleboss's informational lines would go to the
/// stand-in, which drops them. (Without the note, as the level: loggers
/// raise it from `Off` when they are installed, but for `RUST_LOG=off`.)
fn logger_installed() -> bool {
    match NO_LOGGER.get() {
        Some(&none) if logger_address() != none => true,
        // A logger with a size at the stand-in's address is another: the
        // stand-in has none.
        Some(_) if std::mem::size_of_val(log::logger()) != 0 => true,
        // Zero-sized at the stand-in's address: the stand-in, which takes
        // nothing, or a zero-sized static of the program's laid out there
        // (`static LOGGER: Unit`), which takes littleboss's errors at least.
        Some(_) => log::logger().enabled(&ours(log::Level::Error)),
        None => log::max_level() != log::LevelFilter::Off,
    }
}

/// A line of littleboss's at `level`, as a logger's filter is asked of it.
fn ours(level: log::Level) -> log::Metadata<'static> {
    log::Metadata::builder().level(level).target(TARGET).build()
}

/// Where [`log::logger`] pointed as the binary started ([`note_no_logger`]):
/// `log`'s stand-in that logs nothing.
static NO_LOGGER: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// The address of the logger [`log::logger`] gives (the data, not its
/// methods' table, which a crate may hold copies of).
fn logger_address() -> usize {
    (log::logger() as *const dyn log::Log).cast::<()>() as usize
}

/// Notes [`log::logger`]'s stand-in, before any code of the program's can
/// set a logger: called as the binary starts.
pub(crate) fn note_no_logger() {
    let _ = NO_LOGGER.set(logger_address());
}

/// Whether the program's logger takes littleboss's lines at `level`: a
/// filter for the program's own target (`RUST_LOG=myapp=info`) takes
/// none of them, although a logger is installed.
fn logger_takes(level: log::Level) -> bool {
    // A level compiled out (`log`'s `release_max_level_*` features) is
    // dropped by `log!` whatever the logger says.
    logger_installed()
        && level <= log::STATIC_MAX_LEVEL
        && level <= log::max_level()
        && log::logger().enabled(&ours(level))
}

/// Says `args` at `level`: through the program's logger, or on stderr
/// when it has none, or when its filter turns away a warning or an error
/// (which says why the process ends, or what it lost: a filter written
/// for the program's own target did not mean to hide those).
pub(crate) fn say(level: log::Level, args: fmt::Arguments<'_>) {
    say_as(level, logger_takes(level), args);
}

/// Says `args` from code both the supervisor and the program's process
/// run (binding the listeners, adopting a service manager's sockets): as
/// the supervisor's own line on its stderr there, as [`say`] at `level`
/// in the program's (bypass mode), whose logger, set before `run`, takes
/// it.
pub(crate) fn note(level: log::Level, args: fmt::Arguments<'_>) {
    match crate::log::supervising() {
        true => crate::log::write_line(format_args!("littleboss: {args}")),
        false => say(level, args),
    }
}

/// [`say`], whether the program's logger takes it (`to_logger`) decided.
fn say_as(level: log::Level, to_logger: bool, args: fmt::Arguments<'_>) {
    if to_logger {
        log::log!(target: TARGET, level, "{args}");
    } else if !logger_installed() || level <= log::Level::Warn {
        crate::log::write_line(format_args!("littleboss: {args}"));
    }
}

/// Says `message` as an error and exits with `code`, after a flush of the
/// logger: both on a thread of their own, waited for [`FLUSH_PATIENCE`]
/// at most (a logger that blocks, inside `main` where the program set
/// one, must not keep a failed process alive), and a line the logger
/// still holds then said on stderr too, within as long again; with no
/// thread for them, the message goes to stderr instead.
pub(crate) fn fail(code: i32, message: impl fmt::Display) -> ! {
    say_patiently_then_flush(log::Level::Error, message.to_string(), true, FLUSH_PATIENCE);
    std::process::exit(code)
}

/// Ends the program's process with `code`, its logger flushed first: a
/// buffering logger would lose the lines saying why (`process::exit` runs
/// no destructor). Flushed on a thread of its own, waited for
/// [`FLUSH_PATIENCE`] at most: a flush that never returns (a network sink
/// gone quiet, a lock a stuck thread holds) must not keep an orphan, or a
/// program told twice to stop, alive. Before it, the lines said detached
/// are waited for [`DETACHED_PATIENCE`] at most.
pub(crate) fn exit(code: i32) -> ! {
    // A line said detached just before (a stop signal's, as a drain that
    // took no time ends) is not cut off by the exit.
    DETACHED_LINES.wait_said(DETACHED_PATIENCE);
    flush_logger();
    std::process::exit(code)
}

/// How a process ends at a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Exits with this code, the C library's exit handlers run.
    Code(i32),
    /// Dies of this signal, by its default action, as a program without a
    /// handler of its own would have: a shell's loop then stops rather
    /// than run the next command (it takes an exit code, 130 or 143, for a
    /// signal the program handled), and systemd counts a death by SIGTERM
    /// or SIGINT as a clean stop (an exit code 143 as a failure). Exits
    /// with 128 + its number should the signal not end it.
    Signal(nix::sys::signal::Signal),
}

impl Ending {
    /// Ends the process now, stdout flushed first (no handler runs on a
    /// death by signal).
    fn now(self) -> ! {
        match self {
            Ending::Code(code) => std::process::exit(code),
            Ending::Signal(signal) => {
                let _ = std::io::Write::flush(&mut std::io::stdout());
                die_of(signal)
            }
        }
    }

    /// Ends the process at once, running nothing.
    fn at_once(self) -> ! {
        match self {
            // SAFETY: `_exit` ends the process at once, running no
            // handler; it takes a number and touches no memory of ours.
            Ending::Code(code) => unsafe { nix::libc::_exit(code) },
            Ending::Signal(signal) => die_of(signal),
        }
    }
}

/// Dies of `signal` by its default action, whatever handler the process
/// had for it, on whichever thread this runs.
pub(crate) fn die_of(signal: nix::sys::signal::Signal) -> ! {
    use nix::sys::signal::{SigHandler, SigSet};
    // SAFETY: sets the signal's disposition back to its default, which
    // runs no code of ours: the handler it replaces (tokio's, or a control
    // command's `pass_on`) only wrote to a pipe or sent the signal on, and
    // nothing waits on that now.
    let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
    let mut only = SigSet::empty();
    only.add(signal);
    let _ = only.thread_unblock();
    let _ = nix::sys::signal::raise(signal);
    // SAFETY: as in `Ending::at_once`.
    unsafe { nix::libc::_exit(128 + signal as i32) }
}

/// Ends the process as `ending` says at a deadline (an orphan's lameduck
/// timeout, a program still running after its stop signal, or told
/// again), which nothing may put off, saying `last_words` as a warning
/// first. They, the flush and, for an exit code, the C library's exit
/// handlers share one [`FLUSH_PATIENCE`]: past it (a logger that blocks,
/// a linked library's handler waiting on a lock a stuck thread holds) the
/// process ends without them. An orphan has nobody left to kill it.
///
/// ```ignore
/// report::end_by_deadline(Ending::Signal(Signal::SIGTERM), "still running".into());
/// ```
pub(crate) fn end_by_deadline(ending: Ending, last_words: String) -> ! {
    // Started first, so that what follows cannot put the end off more
    // than the one patience.
    let began = std::time::Instant::now();
    let forced = std::thread::Builder::new()
        .name("littleboss-exit".into())
        .spawn(move || {
            std::thread::sleep(FLUSH_PATIENCE);
            ending.at_once()
        });
    // Without a thread for the watch, the end as it is.
    drop(forced);
    // The lines handed over before it (why the drain began, which a
    // lameduck timeout of zero ends at once), as an exit waits for them.
    DETACHED_LINES.wait_said(DETACHED_PATIENCE);
    // Said and flushed on one thread, waited for within half of what is
    // left of the patience: the other half for stderr, should the logger
    // block, before the forced end.
    let left = FLUSH_PATIENCE.saturating_sub(began.elapsed());
    say_patiently_then_flush(log::Level::Warn, last_words, true, left / 2);
    ending.now()
}

/// Flushes the program's logger, waiting [`FLUSH_PATIENCE`] at most;
/// false when no thread could be had for it. Not flushed then: run here,
/// a flush that never returns would keep the process alive for ever.
fn flush_logger() -> bool {
    patiently("littleboss-flush", || log::logger().flush())
}

/// [`say`] waited for [`FLUSH_PATIENCE`] at most (and, when the program's
/// logger still holds the line then, as long again for it on stderr):
/// for a line just before an exit, which a logger that blocks (a stuck
/// sink, a lock a stuck thread holds) must not put off for ever.
pub(crate) fn say_patiently(level: log::Level, message: String) {
    say_patiently_then_flush(level, message, false, FLUSH_PATIENCE);
}

/// [`say_patiently`], the logger flushed after it on the same thread
/// (`flush`), waited for `patience` (and as long again on stderr).
fn say_patiently_then_flush(
    level: log::Level,
    message: String,
    flush: bool,
    patience: std::time::Duration,
) {
    let line = message.clone();
    let stage = std::sync::Arc::new(SayStage::default());
    let saying = stage.clone();
    let started = patiently_for("littleboss-say", patience, move || {
        // Begun after the waiter gave up, or given up on before its
        // stderr write: the waiter writes the line. The logger is still
        // flushed (what it held before is not this line).
        let to_logger = saying.begin() && logger_takes(level);
        if to_logger || saying.on_stderr() {
            say_as(level, to_logger, format_args!("{message}"));
            if to_logger {
                saying.said();
            }
        }
        if flush {
            log::logger().flush();
        }
    });
    let write = move || crate::log::write_line(format_args!("littleboss: {line}"));
    if !started {
        // No thread to be had: on stderr rather than lost (the program's
        // logger, run here, could hold up the exit that follows).
        write();
    } else if stage.give_up() {
        // The program's logger holds it past the patience (blocked), or
        // the thread never ran (a busy machine), and now will not: on
        // stderr, waited for as long again at most (a logger stuck on a
        // full stderr holds std's lock on it, which the write would wait
        // for).
        patiently_for("littleboss-say", patience, write);
    }
}

/// How far the thread saying a line got, so that the one waiting for it
/// writes the line on stderr itself only where the thread did not, and
/// will not: the program's logger, asked whether it takes the line or
/// given it, may hold it; stderr written by `say` itself is not written
/// twice; nor is a line said by a thread that began, or came to its
/// stderr write, after the waiter gave up on it.
///
/// ```ignore
/// let stage = SayStage::default();
/// assert!(stage.give_up()); // the thread never began: the waiter says it
/// assert!(!stage.begin()); // and the thread, beginning late, does not
/// ```
#[derive(Debug, Default)]
struct SayStage(std::sync::atomic::AtomicU8);

impl SayStage {
    const NOT_BEGUN: u8 = 0;
    const WITH_THE_LOGGER: u8 = 1;
    /// Said by the thread, or being said on stderr by it.
    const SAID: u8 = 2;
    const GIVEN_UP: u8 = 3;

    /// The saying thread begins: false if the waiter gave up on it first.
    fn begin(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        (self.0)
            .compare_exchange(Self::NOT_BEGUN, Self::WITH_THE_LOGGER, SeqCst, SeqCst)
            .is_ok()
    }

    /// The saying thread has said the line through the program's logger.
    fn said(&self) {
        self.0
            .store(Self::SAID, std::sync::atomic::Ordering::SeqCst);
    }

    /// The saying thread, the program's logger not taking the line, is
    /// to write it on stderr: false if the waiter gave up on it first
    /// (it writes it then).
    fn on_stderr(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        (self.0)
            .compare_exchange(Self::WITH_THE_LOGGER, Self::SAID, SeqCst, SeqCst)
            .is_ok()
    }

    /// The waiter's patience is out: whether it is to write the line on
    /// stderr itself (the thread never began, and now will not, or the
    /// program's logger holds the line).
    fn give_up(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        let given_up = |from| {
            (self.0)
                .compare_exchange(from, Self::GIVEN_UP, SeqCst, SeqCst)
                .is_ok()
        };
        // Not begun; or begun and not yet on stderr (with the logger, or
        // still asking whether the logger takes it).
        given_up(Self::NOT_BEGUN) || given_up(Self::WITH_THE_LOGGER)
    }
}

/// [`say`] on a thread of its own, not waited for: for a line on a thread
/// that must go on at once (the signal thread, to the next signal), with
/// a logger that may block. The lines are said in order, by one thread at
/// a time, which ends when none is left; while a logger is stuck, up to
/// [`DETACHED_QUEUE`] wait their turn and those past it are let go
/// unsaid, rather than each keeping a thread.
pub(crate) fn say_detached(level: log::Level, message: String) {
    DETACHED_LINES.hand_over((level, message), |(level, message)| {
        say(level, format_args!("{message}"));
    });
}

/// The lines [`say_detached`] hands over.
static DETACHED_LINES: Detached = Detached::new();

/// How long an exit waits for the lines said detached to be said.
const DETACHED_PATIENCE: std::time::Duration = std::time::Duration::from_millis(100);

/// How many detached lines wait while one is being said.
const DETACHED_QUEUE: usize = 16;

/// Lines waiting for the thread that says them, whether it runs, and
/// how many were let go unsaid since the last count was queued.
struct Detached {
    waiting: std::sync::Mutex<Waiting>,
    /// Told when the thread saying them ends (all said, or its logger
    /// panicked).
    ended: std::sync::Condvar,
}

/// What [`Detached`] keeps under its lock.
struct Waiting {
    lines: std::collections::VecDeque<Queued>,
    running: bool,
    dropped: u64,
}

/// A line waiting, or the count of those let go before it.
enum Queued {
    Line(log::Level, String),
    Dropped(u64),
}

impl Detached {
    const fn new() -> Detached {
        Detached {
            waiting: std::sync::Mutex::new(Waiting {
                lines: std::collections::VecDeque::new(),
                running: false,
                dropped: 0,
            }),
            ended: std::sync::Condvar::new(),
        }
    }

    /// Queues `line` for `say`, starting the thread that says them unless
    /// it runs already. Lines let go of while the queue is full are
    /// counted, and the count said where there is room again, before the
    /// next line, or once the queue is said if no line comes.
    fn hand_over(&'static self, line: (log::Level, String), say: fn((log::Level, String))) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let Waiting {
            lines,
            running,
            dropped,
        } = &mut *waiting;
        if lines.len() >= DETACHED_QUEUE {
            if *running {
                *dropped += 1;
                return;
            }
            // Full with nobody saying them (threads could not be started):
            // the oldest goes (a count goes back into the count), and a
            // thread is tried again.
            *dropped += match lines.pop_front() {
                Some(Queued::Dropped(n)) => n,
                _ => 1,
            };
        }
        if *dropped > 0 && lines.len() + 1 < DETACHED_QUEUE {
            lines.push_back(Queued::Dropped(*dropped));
            *dropped = 0;
        }
        lines.push_back(Queued::Line(line.0, line.1));
        if *running {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("littleboss-say".into())
            .spawn(move || self.say_all(say));
        // Without a thread, the lines wait for the next one.
        *running = spawned.is_ok();
    }

    /// Waits until no line waits or is being said, `patience` at most (a
    /// logger that blocks must not hold the caller).
    fn wait_said(&self, patience: std::time::Duration) {
        let waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        // (Queued with no thread to say them: none will come.)
        let _ = self
            .ended
            .wait_timeout_while(waiting, patience, |w| w.running);
    }

    /// Says the waiting lines in order, and ends when there are none: the
    /// check and the end under one lock, so no line is left behind.
    fn say_all(&self, say: fn((log::Level, String))) {
        // A logger that panics ends this thread: the next line starts
        // another, rather than finding it running for ever.
        struct OnPanic<'a>(&'a Detached);
        impl Drop for OnPanic<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let mut waiting = self.0.waiting.lock().unwrap_or_else(|e| e.into_inner());
                    waiting.running = false;
                    self.0.ended.notify_all();
                }
            }
        }
        let _on_panic = OnPanic(self);
        loop {
            let next = {
                let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
                let next = match waiting.lines.pop_front() {
                    Some(queued) => Some(queued),
                    // Let go of while the queue was full, with no room or
                    // no line after them to carry their count: said last.
                    None if waiting.dropped > 0 => {
                        Some(Queued::Dropped(std::mem::take(&mut waiting.dropped)))
                    }
                    None => None,
                };
                waiting.running = next.is_some();
                if next.is_none() {
                    self.ended.notify_all();
                }
                next
            };
            match next {
                Some(Queued::Line(level, text)) => say((level, text)),
                Some(Queued::Dropped(n)) => say((
                    log::Level::Warn,
                    format!("{n} line(s) let go unsaid here: the logger was too slow for them"),
                )),
                None => return,
            }
        }
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
/// [`FLUSH_PATIENCE`] at most; false when no thread could be had (`work`
/// is then not run).
fn patiently(name: &str, work: impl FnOnce() + Send + 'static) -> bool {
    patiently_for(name, FLUSH_PATIENCE, work)
}

/// Runs `work` on a thread of its own (named `name`), waiting for it
/// `patience` at most; false when no thread could be had.
fn patiently_for(
    name: &str,
    patience: std::time::Duration,
    work: impl FnOnce() + Send + 'static,
) -> bool {
    patiently_on(start_thread, name, patience, work)
}

/// How a thread is started: std's, or in tests one that fails.
type StartThread = fn(std::thread::Builder, Box<dyn FnOnce() + Send>) -> std::io::Result<()>;

fn start_thread(
    builder: std::thread::Builder,
    work: Box<dyn FnOnce() + Send>,
) -> std::io::Result<()> {
    builder.spawn(work).map(drop)
}

/// [`patiently_for`], its thread started by `start`.
fn patiently_on(
    start: StartThread,
    name: &str,
    patience: std::time::Duration,
    work: impl FnOnce() + Send + 'static,
) -> bool {
    let (finished, done) = std::sync::mpsc::channel();
    let builder = std::thread::Builder::new().name(name.into());
    let started = start(
        builder,
        Box::new(move || {
            work();
            let _ = finished.send(());
        }),
    );
    if started.is_ok() {
        let _ = done.recv_timeout(patience);
    }
    started.is_ok()
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
    #[test]
    fn a_line_is_written_on_stderr_by_the_waiter_only_where_its_thread_did_not() {
        use super::SayStage;
        // The thread never began within the patience: the waiter writes
        // it, and the thread, beginning late, says nothing.
        let late = SayStage::default();
        assert!(late.give_up());
        assert!(!late.begin());
        // Held by the program's logger, or still asking whether it takes
        // the line: on stderr by the waiter, and not by the thread then.
        let held = SayStage::default();
        assert!(held.begin());
        assert!(held.give_up());
        assert!(!held.on_stderr());
        // On stderr by the thread, or said: not by the waiter.
        let writing = SayStage::default();
        assert!(writing.begin() && writing.on_stderr());
        assert!(!writing.give_up());
        let said = SayStage::default();
        assert!(said.begin());
        said.said();
        assert!(!said.give_up());
    }

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
    fn an_exit_waits_for_the_lines_said_detached_a_while() {
        static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        static LINES: Detached = Detached::new();
        fn slow((_, line): (log::Level, String)) {
            std::thread::sleep(std::time::Duration::from_millis(20));
            SAID.lock().unwrap().push(line);
        }
        LINES.hand_over((log::Level::Info, "draining".into()), slow);
        LINES.wait_said(std::time::Duration::from_secs(10));
        assert_eq!(*SAID.lock().unwrap(), ["draining"]);
        // A logger that blocks holds it `patience` at most.
        fn stuck(_: (log::Level, String)) {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
        static STUCK: Detached = Detached::new();
        STUCK.hand_over((log::Level::Info, "held".into()), stuck);
        let began = std::time::Instant::now();
        STUCK.wait_said(std::time::Duration::from_millis(50));
        let waited = began.elapsed();
        assert!(waited >= std::time::Duration::from_millis(50), "{waited:?}");
        assert!(waited < std::time::Duration::from_secs(30), "{waited:?}");
    }

    #[test]
    fn detached_lines_said_while_one_is_slow_all_come_in_order() {
        // A logger that takes a while: the lines after the first wait
        // their turn rather than being let go.
        static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        static LINES: Detached = Detached::new();
        fn slow((_, line): (log::Level, String)) {
            std::thread::sleep(std::time::Duration::from_millis(20));
            SAID.lock().unwrap().push(line);
        }
        let lines = ["SIGHUP", "SIGTERM again", "SIGHUP again"].map(String::from);
        for line in &lines {
            LINES.hand_over((log::Level::Info, line.clone()), slow);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while SAID.lock().unwrap().len() < lines.len() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(*SAID.lock().unwrap(), lines);
        // The thread has ended, and the next line starts another.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while LINES.waiting.lock().unwrap().running && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        LINES.hand_over((log::Level::Info, "later".into()), slow);
        while SAID.lock().unwrap().len() < 4 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(
            SAID.lock().unwrap().last().map(String::as_str),
            Some("later")
        );
    }

    #[test]
    fn a_logger_that_panics_does_not_silence_the_lines_after() {
        static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        static LINES: Detached = Detached::new();
        fn panicky((_, line): (log::Level, String)) {
            assert_ne!(line, "panic", "a logger's own panic");
            SAID.lock().unwrap().push(line);
        }
        LINES.hand_over((log::Level::Info, "panic".into()), panicky);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while LINES
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .running
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        LINES.hand_over((log::Level::Info, "after".into()), panicky);
        while SAID.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(*SAID.lock().unwrap(), ["after"]);
    }

    #[test]
    fn a_stuck_logger_holds_a_bounded_queue_and_counts_what_it_let_go() {
        static STUCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        static LINES: Detached = Detached::new();
        fn stuck((_, line): (log::Level, String)) {
            drop(STUCK.lock());
            SAID.lock().unwrap().push(line);
        }
        let held = STUCK.lock().unwrap();
        for i in 0..100 {
            LINES.hand_over((log::Level::Info, format!("line {i}")), stuck);
        }
        // One being said, the queue full behind it.
        assert!(LINES.waiting.lock().unwrap().lines.len() <= DETACHED_QUEUE);
        drop(held);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while LINES.waiting.lock().unwrap().running && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // The queue said, then the count of those let go, though no line
        // came after them.
        let said = SAID.lock().unwrap().len() - 1;
        assert!(
            (DETACHED_QUEUE..=DETACHED_QUEUE + 1).contains(&said),
            "{said}"
        );
        let count = format!(
            "{} line(s) let go unsaid here: the logger was too slow for them",
            100 - said
        );
        assert_eq!(SAID.lock().unwrap()[said..], [count]);
        // The next line is said alone: the count went with the queue.
        LINES.hand_over((log::Level::Info, "later".into()), stuck);
        while SAID.lock().unwrap().len() < said + 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(SAID.lock().unwrap()[said + 1..], ["later".to_owned()]);
    }

    #[test]
    fn work_done_patiently_says_whether_it_had_a_thread() {
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let no_thread: StartThread = |_, _| Err(std::io::Error::other("no thread"));
        let work = |ran: &std::sync::Arc<std::sync::atomic::AtomicBool>| {
            let ran = ran.clone();
            move || ran.store(true, std::sync::atomic::Ordering::SeqCst)
        };
        let patience = std::time::Duration::from_secs(10);
        // Its callers fall back (stderr for a line) only on that answer.
        assert!(!patiently_on(no_thread, "test", patience, work(&ran)));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        assert!(patiently_on(start_thread, "test", patience, work(&ran)));
        assert!(ran.load(std::sync::atomic::Ordering::SeqCst));
    }

    /// In a process of its own: the level is the whole process's.
    #[test]
    fn a_level_raised_with_no_logger_set_is_no_logger() {
        let name = "report::tests::a_level_raised_with_no_logger_set_is_no_logger";
        if !crate::alone::in_a_process_of_its_own(name, "LITTLEBOSS_TEST_LEVEL_ONLY") {
            return;
        }
        // A program's `-v` raising the level, no logger set: littleboss's
        // informational lines go to stderr, not to `log`'s stand-in.
        log::set_max_level(log::LevelFilter::Info);
        assert!(!logger_installed());
        assert!(!logger_takes(log::Level::Info));
    }

    #[test]
    fn a_programs_logger_gets_the_lines() {
        static KEEP: Keep = Keep(std::sync::Mutex::new(Vec::new()));
        assert!(!logger_installed(), "no logger before the program sets one");
        log::set_logger(&KEEP).unwrap();
        log::set_max_level(log::LevelFilter::Info);
        warning!("the supervisor is gone; {}", "lameduck");
        // Only this test's line: another test's (an accept error's
        // warning, said on a thread of its own) may come at any moment.
        let kept = KEEP.0.lock().unwrap();
        let ours: Vec<_> = kept
            .iter()
            .filter(|l| l.contains("supervisor is gone"))
            .collect();
        assert_eq!(ours, ["WARN littleboss the supervisor is gone; lameduck"]);
    }
}
