//! Log lines on stderr, each written with a single `write`.
//!
//! The supervisor and its children share stderr; `eprintln!` writes a line
//! in pieces, so lines of two processes can interleave mid-line. One write
//! of a whole line (shorter than PIPE_BUF) is atomic.
//!
//! In the supervisor ([`off_the_loop`]) a line is queued instead, and a
//! thread started for the burst writes it: stderr is often a pipe to a
//! log shipper or journald, and a write into a full one (the reader
//! stalled, a child's flood of output) would stop the supervisor's one
//! loop, and with it control requests, deadlines and the watchdog. A line
//! that finds the queue full is dropped and counted, and the count said
//! once stderr takes lines again.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// `text` with its [`unprintable`] characters escaped (`\n`, `\u{1b}`,
/// `\u{202e}`), for a line that quotes what another process sent (a
/// control client's request): it stays one line, no escape sequence
/// reaches a terminal, and nothing in it reorders or hides the rest.
/// A backslash is left as it is: much of what is quoted was escaped
/// already (a rule's error, serde's), which doubling would misread.
///
/// ```ignore
/// assert_eq!(printable("a\u{1b}[2J\nb"), "a\\u{1b}[2J\\nb");
/// ```
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(unprintable) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if c.is_control() => escaped.extend(c.escape_debug()),
            c if unprintable(c) => escaped.extend(c.escape_unicode()),
            c => escaped.push(c),
        }
    }
    std::borrow::Cow::Owned(escaped)
}

/// `text`'s first `most` bytes at most, cut between characters.
///
/// ```ignore
/// assert_eq!(cut_at_char("aé", 2), "a");
/// ```
pub(crate) fn cut_at_char(text: &str, most: usize) -> &str {
    let mut end = most.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Whether `c` is to be escaped on a terminal: a control character (a
/// newline, an escape sequence), or one that reorders or hides what
/// follows, which would make a word read as another: Unicode's default
/// ignorable code points (bidirectional overrides and isolates,
/// zero-width and invisible marks, Hangul fillers, variation selectors,
/// tag characters, the byte-order mark), the other format characters,
/// and the line and paragraph separators.
pub(crate) fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Default_Ignorable_Code_Point (Unicode 16).
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'..='\u{1160}'
                | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fff8}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
                // The other format characters (Cf), and Zl, Zp.
                | '\u{0600}'..='\u{0605}'
                | '\u{06dd}'
                | '\u{070f}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08e2}'
                | '\u{2028}'..='\u{2029}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}'
        )
}

/// Writes `line` and a newline to stderr in one `write` (in the supervisor,
/// soon, from the queue).
pub(crate) fn write_line(line: std::fmt::Arguments<'_>) {
    let mut text = line.to_string();
    text.push('\n');
    if writes_here() {
        use std::os::fd::AsFd;
        let deadline = Instant::now() + EXIT_PATIENCE;
        write_until(std::io::stderr().as_fd(), &[text], deadline, &STDERR_CUT);
        return;
    }
    match QUEUE.get() {
        Some(queue) => queue.push(text),
        None => {
            write_now(text.as_bytes());
        }
    }
}

/// Whether lines are written [`here_only`].
static HERE_ONLY: AtomicBool = AtomicBool::new(false);

/// From now on in this process, each line is written on the calling
/// thread within [`EXIT_PATIENCE`]: not through the queue, nor under
/// std's stderr lock. For a copy of the supervisor that a fork left
/// without its writer thread (whose queue nothing would write), and with
/// any lock another thread held at the fork held for good.
pub(crate) fn here_only() {
    HERE_ONLY.store(true, Ordering::Relaxed);
}

/// Whether this process is a supervisor (it queues its lines): not the
/// program's process, bypass mode's or a child's.
pub(crate) fn supervising() -> bool {
    QUEUE.get().is_some()
}

/// The process that made [`QUEUE`], whose thread writes it.
static QUEUED_IN: AtomicI32 = AtomicI32::new(0);

/// Whether this process is a copy forked from the one that queues its
/// lines: the writer thread stayed there, and what is queued is that
/// process's to write.
fn a_forked_copy() -> bool {
    QUEUE.get().is_some() && QUEUED_IN.load(Ordering::SeqCst) != nix::unistd::getpid().as_raw()
}

/// Whether a line is written on the calling thread: [`here_only`] said
/// so, or this is a forked copy that has not said so yet (a panic in it
/// before it knows it is one).
fn writes_here() -> bool {
    HERE_ONLY.load(Ordering::Relaxed) || a_forked_copy()
}

/// Whether all of `bytes` were written. Holds std's stderr lock while it
/// waits (up to [`ROOM_PATIENCE`] at a time, where stderr is
/// non-blocking), so the program's own `eprintln!` waits as long.
fn write_now(bytes: &[u8]) -> bool {
    use std::os::fd::AsFd;
    let stderr = std::io::stderr();
    let _locked = stderr.lock();
    write_after_cut(
        stderr.as_fd(),
        bytes,
        Wait::EachStall(ROOM_PATIENCE),
        &STDERR_CUT,
    )
}

/// Whether the last line on stderr was given up on part-way.
static STDERR_CUT: AtomicBool = AtomicBool::new(false);

/// Writes `lines` to `fd` until `deadline`, on the calling thread: for a
/// flush or a panic's message with no writer thread to be had. A blocking
/// stderr nobody reads must not hold the exit (or a re-execution) past its
/// patience, so each page of a line waits for room first (as
/// [`Wait::Until`] writes). How many of `lines` were written whole.
fn write_until(
    fd: std::os::fd::BorrowedFd<'_>,
    lines: &[String],
    deadline: Instant,
    cut: &AtomicBool,
) -> usize {
    let mut written = 0;
    for line in lines {
        // A line that goes in pieces keeps to the same deadline, however
        // many times it waits for room.
        if !write_after_cut(fd, line.as_bytes(), Wait::Until(deadline), cut) {
            break;
        }
        written += 1;
    }
    written
}

/// Whether all of `bytes` were written to `fd`, waiting for room as
/// `wait` says: [`Wait::EachStall`] hands them to `write` all at once (the
/// writer thread's way, which may wait); [`Wait::Until`] a pipe's page
/// (`PIPE_BUF`) at a time, each once there is room for it, or none by the
/// deadline: where stderr blocks, a pipe that polls writable takes a page
/// whole, but a longer write (a panic's backtrace) waits in the kernel
/// for the rest for as long as nobody reads. A line given up on part-way
/// leaves `cut` set, and the next line then starts on a line of its own
/// rather than finishing the cut one's.
fn write_after_cut(
    fd: std::os::fd::BorrowedFd<'_>,
    bytes: &[u8],
    wait: Wait,
    cut: &AtomicBool,
) -> bool {
    let was_cut = cut.load(Ordering::Relaxed);
    let with_break;
    let whole = if was_cut {
        with_break = [b"\n", bytes].concat();
        &with_break[..]
    } else {
        bytes
    };
    let mut rest = whole;
    const PAGE: usize = nix::libc::PIPE_BUF;
    let written = match wait {
        Wait::EachStall(_) => write_all_waiting(fd, &mut rest, wait).is_ok(),
        Wait::Until(_) => loop {
            if rest.is_empty() {
                break true;
            }
            if !room_by(fd, wait.deadline()).unwrap_or(false) {
                break false;
            }
            let mut piece = &rest[..rest.len().min(PAGE)];
            let sent = write_all_waiting(fd, &mut piece, wait).is_ok();
            rest = &rest[rest.len().min(PAGE) - piece.len()..];
            if !sent {
                break false;
            }
        },
    };
    // Cut while the last byte written ends no line (nothing written: as
    // before).
    let last = whole.len() - rest.len();
    if last > 0 {
        cut.store(whole[last - 1] != b'\n', Ordering::Relaxed);
    }
    written
}

/// How long a line waits for room in a non-blocking stderr, at a time.
const ROOM_PATIENCE: Duration = Duration::from_secs(5);

/// How long a write waits for room in a non-blocking `fd`.
#[derive(Clone, Copy)]
enum Wait {
    /// So long each time it finds none: a reader that keeps reading,
    /// however slowly, keeps the line going (the writer thread's way).
    EachStall(Duration),
    /// Until then, all stalls together: an exit's flush, which must not
    /// be held past its patience by a reader that reads a page at a time.
    Until(Instant),
}

impl Wait {
    /// Until when a stall that begins now waits.
    fn deadline(self) -> Instant {
        match self {
            Wait::EachStall(patience) => Instant::now() + patience,
            Wait::Until(deadline) => deadline,
        }
    }
}

/// Writes all of `bytes` to `fd`, waiting for room where it is
/// non-blocking, as `wait` says: stderr's open file is
/// shared with the children, and one that makes it non-blocking (an async
/// stdio wrapper) would otherwise have a full pipe drop lines, or cut one
/// in two, unsaid; a reader stalled for good still ends the wait.
/// `bytes` is left as what was not written.
fn write_all_waiting(
    fd: std::os::fd::BorrowedFd<'_>,
    bytes: &mut &[u8],
    wait: Wait,
) -> std::io::Result<()> {
    use nix::errno::Errno;
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => *bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                if !room_by(fd, wait.deadline())? {
                    return Err(std::io::ErrorKind::TimedOut.into());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Whether `fd` has room for a write by `deadline` (a signal's
/// interruption waited past).
fn room_by(fd: std::os::fd::BorrowedFd<'_>, deadline: Instant) -> std::io::Result<bool> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        let mut ready = [PollFd::new(fd, PollFlags::POLLOUT)];
        match poll(&mut ready, timeout) {
            Err(nix::errno::Errno::EINTR) if !left.is_zero() => {}
            Err(e) => return Err(e.into()),
            Ok(n) => return Ok(n > 0),
        }
    }
}

/// From now on in this process, lines are queued and written by a thread
/// of their own: for the supervisor's loop, which must not block.
pub(crate) fn off_the_loop() {
    QUEUED_IN.store(nix::unistd::getpid().as_raw(), Ordering::SeqCst);
    let _ = QUEUE.set(Queue::default());
}

/// [`off_the_loop`], and from now on a panic's message is queued too, in
/// place of the oldest line should the queue be full (that one dropped
/// and counted), and waited for [`EXIT_PATIENCE`] at most (or
/// written here within it, with no writer to be had: a panic that ends
/// the supervisor would lose it): Rust's default hook writes it
/// straight to stderr, where a full pipe held the panicking thread (the
/// supervisor's one loop, which tokio goes on with after a task's panic,
/// or a spawn's thread) for as long as nobody read. Worded as the default
/// hook words it (but for the thread's name), with the backtrace
/// `RUST_BACKTRACE` asks for. At the supervisor's start (a thread that is
/// panicking may not set a hook).
pub(crate) fn off_the_loop_with_panics() {
    off_the_loop();
    std::panic::set_hook(Box::new(|info| {
        let Some(queue) = QUEUE.get() else { return };
        let mut said = format!("littleboss: the supervisor {info}");
        let asked = std::env::var_os("RUST_BACKTRACE").filter(|v| v != "0");
        if let Some(asked) = asked {
            let backtrace = std::backtrace::Backtrace::force_capture();
            match asked == "full" {
                true => said.push_str(&format!("\nstack backtrace:\n{backtrace:#}")),
                false => said.push_str(&format!("\nstack backtrace:\n{backtrace}")),
            }
        }
        said.push('\n');
        if writes_here() {
            use std::os::fd::AsFd;
            let deadline = Instant::now() + EXIT_PATIENCE;
            write_until(std::io::stderr().as_fd(), &[said], deadline, &STDERR_CUT);
            return;
        }
        match queue.push_panic(said, start_writer) {
            Some(true) => queue.wait_written(EXIT_PATIENCE),
            Some(false) => {
                use std::os::fd::AsFd;
                let deadline = Instant::now() + EXIT_PATIENCE;
                queue.write_here_until(std::io::stderr().as_fd(), deadline);
            }
            None => {}
        }
    }));
}

/// How long an exit waits for the queued lines.
pub(crate) const EXIT_PATIENCE: Duration = Duration::from_secs(1);
/// How long a re-execution waits for them: the supervisor's pause.
pub(crate) const EXEC_PATIENCE: Duration = Duration::from_millis(100);

/// Waits, up to `patience`, for the queued lines to be written: before the
/// process exits or re-executes itself, which would lose them.
pub(crate) fn flush(patience: Duration) {
    if let Some(queue) = QUEUE.get().filter(|_| !a_forked_copy()) {
        queue.flush(patience);
    }
}

/// Has the queued lines flushed when this process calls `exit`, within
/// [`EXIT_PATIENCE`], unless [`flush_for_exit`] did already: a
/// `process::exit` in `supervisor_init` (or a thread it started) would
/// end the writer with lines still queued, lost unsaid and uncounted.
/// Not in a copy the program forked, whose queue has no writer. Called
/// once, before `supervisor_init`.
pub(crate) fn flush_at_exit() {
    extern "C" fn at_exit() {
        // Flushed already on the way out: not waited for twice (and not
        // at all in a forked copy: `flush` knows).
        if !FLUSHED_FOR_EXIT.load(Ordering::SeqCst) {
            flush(EXIT_PATIENCE);
        }
    }
    // SAFETY: registers a function with no arguments, for the C library
    // to call at `exit`; nothing is freed or borrowed.
    unsafe { nix::libc::atexit(at_exit) };
}

/// Whether [`flush_for_exit`] ran: the exit that follows waits no more.
static FLUSHED_FOR_EXIT: AtomicBool = AtomicBool::new(false);

/// [`flush`] for [`EXIT_PATIENCE`] just before the process exits, which
/// the hook [`flush_at_exit`] registers then does not wait for again.
pub(crate) fn flush_for_exit() {
    flush(EXIT_PATIENCE);
    FLUSHED_FOR_EXIT.store(true, Ordering::SeqCst);
}

/// How many lines stderr has not taken: queued, being written, or dropped
/// and not said yet. An exec loses them, and tells the new image.
pub(crate) fn unsaid() -> u64 {
    QUEUE.get().map_or(0, |queue| queue.lock().unsaid())
}

/// Counts `count` lines as dropped (a previous image's, lost to its exec),
/// said by the writer as the lines it drops are: from now, if a writer
/// can be had, or with the next line. Only once lines are queued
/// ([`off_the_loop`]).
pub(crate) fn count_dropped(count: u64) {
    if let Some(queue) = QUEUE.get() {
        queue.count_dropped(count, start_writer);
    }
}

/// `log!("...")`: a `littleboss: ...` line on stderr, in one `write` (in
/// the supervisor, queued: see [`off_the_loop`]).
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::write_line(format_args!("littleboss: {}", format_args!($($arg)*)))
    };
}
pub(crate) use log;

static QUEUE: OnceLock<Queue> = OnceLock::new();

/// The most lines waiting: a stalled stderr costs this much memory, no
/// more (about 100 bytes a line).
const MOST_WAITING: usize = 1024;

#[derive(Default)]
struct Queue {
    state: Mutex<State>,
    /// Told when the writer has written all it was given, or goes
    /// keeping a count it could not say.
    idle: Condvar,
    /// Told when a line comes for a writer that lingers.
    more: Condvar,
}

/// How long the writer waits for a burst's next line before it goes: a
/// reload's lines come a few milliseconds apart.
const LINGER: Duration = Duration::from_millis(100);

/// The writer's stack: it formats one short line at most.
const WRITER_STACK: usize = 64 * 1024;

#[derive(Default)]
struct State {
    lines: VecDeque<String>,
    /// Lines dropped since the count was last said.
    dropped: u64,
    /// A writer thread runs (it exits once the queue has been empty for
    /// [`LINGER`], or at once when a write failed with nothing but the
    /// count of lines dropped left).
    writing: bool,
    /// How many lines the one the writer is writing stands for: 1, or
    /// the count of those dropped that it says; 0 when it writes none.
    in_flight: u64,
}

/// Starts the thread that writes `queue`'s lines.
fn start_writer(queue: &'static Queue) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("littleboss-log".to_owned())
        .stack_size(WRITER_STACK)
        .spawn(move || {
            block_sigpipe();
            // A test's pause before this writer's first write (each time
            // one starts), to land it where the test asks: until its gate
            // file goes (while `supervisor_init` runs, say).
            if let Some(ms) = crate::test_hook::test_hook::<u64>(WRITE_PAUSE_VAR) {
                crate::test_hook::pause(ms, WRITE_PAUSE_GATE_VAR);
            }
            queue.write_all()
        })
        .map(drop)
}

/// Test hooks: how long the writer waits before its first write, at most,
/// and the file whose removal ends the wait.
const WRITE_PAUSE_VAR: &str = "LITTLEBOSS_TEST_LOG_WRITE_PAUSE_MS";
const WRITE_PAUSE_GATE_VAR: &str = "LITTLEBOSS_TEST_LOG_WRITE_PAUSE_GATE";

/// SIGPIPE blocked in the writer: a write to a closed stderr fails here
/// with EPIPE, never killing the supervisor, even while the program's
/// `supervisor_init` has put SIGPIPE back to its default, which the
/// supervisor ignores again only once it returns (the signal, sent to
/// this thread, waits here and goes as it is ignored, or with the
/// thread).
fn block_sigpipe() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let mut pipe = SigSet::empty();
    pipe.add(Signal::SIGPIPE);
    let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&pipe), None);
}

impl Queue {
    fn push(&'static self, line: String) {
        self.push_with(line, start_writer);
    }

    /// [`push`](Self::push), a writer started by `start` if none runs.
    fn push_with(
        &'static self,
        line: String,
        start: impl FnOnce(&'static Queue) -> std::io::Result<()>,
    ) {
        let mut state = self.lock();
        if state.lines.len() >= MOST_WAITING {
            state.dropped = state.dropped.saturating_add(1);
        } else {
            state.lines.push_back(line);
        }
        // No thread to be had (a cgroup's `pids.max` reached): the lines
        // wait for the next line (dropped or not: a full queue must not
        // stop the tries), or the exit's flush, to try again. Written
        // here, they would block the supervisor's loop on a stderr nobody
        // reads.
        self.wake_or_start(&mut state, start);
    }

    /// Wakes the writer that runs, or starts one by `start` (the queue's
    /// lock held, as `state`); whether one runs now.
    fn wake_or_start(
        &'static self,
        state: &mut State,
        start: impl FnOnce(&'static Queue) -> std::io::Result<()>,
    ) -> bool {
        if state.writing {
            self.more.notify_one();
        } else if start(self).is_ok() {
            state.writing = true;
        }
        state.writing
    }

    /// A panic's message, queued in place of the oldest line should the
    /// queue be full (that one dropped and counted); a writer started by
    /// `start` if none runs. Whether a writer runs; `None`, the message
    /// let go, if the queue's lock could not be had for a while: this
    /// thread may hold it (a panic under it), and would wait on itself.
    fn push_panic(
        &'static self,
        said: String,
        start: impl FnOnce(&'static Queue) -> std::io::Result<()>,
    ) -> Option<bool> {
        let deadline = Instant::now() + Duration::from_millis(100);
        let mut state = loop {
            match self.state.try_lock() {
                Ok(state) => break state,
                Err(std::sync::TryLockError::Poisoned(e)) => break e.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(std::sync::TryLockError::WouldBlock) => return None,
            }
        };
        if state.lines.len() >= MOST_WAITING {
            state.lines.pop_front();
            state.dropped = state.dropped.saturating_add(1);
        }
        state.lines.push_back(said);
        Some(self.wake_or_start(&mut state, start))
    }

    /// Writes the lines queued to `stderr` on this thread until
    /// `deadline`, with no writer to be had; those it could not write are
    /// counted as dropped. Not under std's stderr lock, which a thread
    /// blocked in `eprintln!` on the same full stderr may hold.
    fn write_here_until(&self, stderr: std::os::fd::BorrowedFd<'_>, deadline: Instant) {
        self.write_taken_here_until(self.lock(), stderr, deadline);
    }

    /// [`write_here_until`](Self::write_here_until), the queue's lock
    /// already held (as `state`): the lines taken in the same hold that
    /// found no writer, so none started meanwhile takes them away from an
    /// exit's flush.
    fn write_taken_here_until(
        &self,
        mut state: std::sync::MutexGuard<'_, State>,
        stderr: std::os::fd::BorrowedFd<'_>,
        deadline: Instant,
    ) {
        let mut lines: Vec<String> = state.lines.drain(..).collect();
        let queued = lines.len();
        let dropped = std::mem::take(&mut state.dropped);
        drop(state);
        if dropped > 0 {
            lines.push(dropped_line(dropped));
        }
        let written = write_until(stderr, &lines, deadline, &STDERR_CUT);
        // The count's line, unwritten, loses all the lines it stands for.
        let mut unwritten = queued.saturating_sub(written) as u64;
        if written <= queued {
            unwritten = unwritten.saturating_add(dropped);
        }
        if unwritten > 0 {
            let mut state = self.lock();
            state.dropped = state.dropped.saturating_add(unwritten);
        }
    }

    /// [`count_dropped`], a writer started by `start` if none runs.
    fn count_dropped(
        &'static self,
        count: u64,
        start: impl FnOnce(&'static Queue) -> std::io::Result<()>,
    ) {
        let mut state = self.lock();
        state.dropped = state.dropped.saturating_add(count);
        self.wake_or_start(&mut state, start);
    }

    /// The writer: every line queued, then the count of those dropped;
    /// it waits [`LINGER`] for more (a burst's next line) before it goes,
    /// or goes at once when stderr fails with nothing but that count left,
    /// the count kept for the next line's writer.
    fn write_all(&self) {
        self.write_all_with(write_now);
    }

    /// [`write_all`](Self::write_all), each line written by `write`.
    fn write_all_with(&self, write: impl Fn(&[u8]) -> bool) {
        let mut state = self.lock();
        loop {
            // `lost`: how many lines are lost should this one be given up.
            let (line, lost) = match state.lines.pop_front() {
                Some(line) => (line, 1),
                None if state.dropped > 0 => {
                    let dropped = std::mem::take(&mut state.dropped);
                    (dropped_line(dropped), dropped)
                }
                None => {
                    self.idle.notify_all();
                    state = match self.more.wait_timeout(state, LINGER) {
                        Ok((state, _)) => state,
                        Err(e) => e.into_inner().0,
                    };
                    if state.lines.is_empty() && state.dropped == 0 {
                        state.writing = false;
                        return;
                    }
                    continue;
                }
            };
            state.in_flight = lost;
            drop(state);
            let written = write(line.as_bytes());
            state = self.lock();
            state.in_flight = 0;
            // Given up on (a non-blocking stderr that took nothing for
            // a while, or one that fails: its reader gone): counted with
            // those the full queue dropped.
            if !written {
                state.dropped = state.dropped.saturating_add(lost);
                // Nothing left but the count, which would fail again at
                // once (a stderr whose reader is gone): kept for the next
                // line's writer to say, rather than tried again and again
                // here. Lines queued meanwhile are tried first (each
                // failing one is counted, so this ends).
                if state.lines.is_empty() {
                    state.writing = false;
                    self.idle.notify_all();
                    return;
                }
            }
        }
    }

    /// Waits until every line queued is written, `patience` at most.
    fn flush(&'static self, patience: Duration) {
        use std::os::fd::AsFd;
        self.flush_with(patience, start_writer, std::io::stderr().as_fd());
    }

    /// [`flush`](Self::flush) to `stderr`, a writer started by `start` if
    /// lines wait with none running (its start failed at their push). If
    /// none can be had now either, they are written here, within
    /// `patience` too: what is said last (why the supervisor exits) is
    /// worth an exit's wait on stderr, no more. Those it cannot write stay
    /// counted, for a re-execution to tell the new image.
    fn flush_with(
        &'static self,
        patience: Duration,
        start: impl FnOnce(&'static Queue) -> std::io::Result<()>,
        stderr: std::os::fd::BorrowedFd<'_>,
    ) {
        let deadline = Instant::now() + patience;
        let mut state = self.lock();
        if state.waiting() && !state.writing {
            if start(self).is_ok() {
                state.writing = true;
            } else {
                self.write_taken_here_until(state, stderr, deadline);
                return;
            }
        }
        drop(state);
        self.wait_written(deadline.saturating_duration_since(Instant::now()));
    }

    /// Waits, `patience` at most, until the writer has written every line
    /// queued (not past its going: a count it could not say waits for the
    /// next line). Writes none here.
    fn wait_written(&self, patience: Duration) {
        let deadline = Instant::now() + patience;
        let mut state = self.lock();
        while state.waiting() && state.writing {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            state = match self.idle.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(e) => e.into_inner().0,
            };
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The line that counts the lines dropped.
fn dropped_line(dropped: u64) -> String {
    format!("littleboss: {dropped} log line(s) dropped: stderr took no lines for a while\n")
}

impl State {
    /// How many lines are queued, being written, or dropped and not said.
    fn unsaid(&self) -> u64 {
        (self.lines.len() as u64)
            .saturating_add(self.dropped)
            .saturating_add(self.in_flight)
    }

    /// Whether anything is left to write, or being written.
    fn waiting(&self) -> bool {
        self.unsaid() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer's start that fails, as with no thread to be had.
    fn no_thread(_: &'static Queue) -> std::io::Result<()> {
        Err(std::io::Error::other("no thread"))
    }

    #[test]
    fn quoted_text_keeps_to_its_line_and_its_order() {
        assert_eq!(printable("plain text, ünïcode"), "plain text, ünïcode");
        assert_eq!(printable("a\u{1b}[2J\nb"), r"a\u{1b}[2J\nb");
        // A right-to-left override would show `"cmd":"exe.txt"` reversed;
        // a zero-width space would make two words look like one.
        assert_eq!(
            printable("x\u{202e}y\u{200b}z\u{e0041}"),
            r"x\u{202e}y\u{200b}z\u{e0041}"
        );
        // A Hangul filler shows as a blank; a variation selector as
        // nothing.
        assert_eq!(printable("app\u{3164}\u{fe0f}"), r"app\u{3164}\u{fe0f}");
    }

    #[test]
    fn lines_wait_for_a_writer_when_none_can_be_started() {
        use std::os::fd::AsFd;
        let queue: &'static Queue = Box::leak(Box::default());
        // Not written on the pushing thread (the supervisor's loop).
        queue.push_with("(log test) first\n".to_owned(), no_thread);
        queue.push_with("(log test) second\n".to_owned(), no_thread);
        let state = queue.state.lock().unwrap();
        assert_eq!(state.lines, ["(log test) first\n", "(log test) second\n"]);
        assert!(!state.writing);
        drop(state);
        // The next push that gets a writer has it write them all.
        queue.push("(log test) third\n".to_owned());
        queue.flush(Duration::from_secs(10));
        let state = queue.state.lock().unwrap();
        assert!(state.lines.is_empty(), "{:?}", state.lines);
        drop(state);
        // Once the writer is gone (it lingers for a next line a while),
        // at an exit with no writer to be had, they are written there.
        let gone = |queue: &Queue| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while queue.state.lock().unwrap().writing {
                assert!(Instant::now() < deadline, "the writer never went");
                std::thread::sleep(LINGER / 4);
            }
        };
        gone(queue);
        queue.push_with("(log test) fourth\n".to_owned(), no_thread);
        assert_eq!(queue.state.lock().unwrap().lines.len(), 1);
        // Those dropped are counted there too.
        queue.state.lock().unwrap().dropped = 2;
        let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        queue.flush_with(Duration::from_secs(10), no_thread, write_end.as_fd());
        let state = queue.state.lock().unwrap();
        assert!(
            state.lines.is_empty() && state.dropped == 0,
            "{:?} {}",
            state.lines,
            state.dropped
        );
        drop(state);
        drop(write_end);
        let mut said = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(read_end), &mut said).unwrap();
        assert_eq!(said, format!("(log test) fourth\n{}", dropped_line(2)));
        // A queue filled while no writer could be had starts one at the
        // next line all the same, dropped as it is.
        {
            let mut state = queue.state.lock().unwrap();
            // Empty: nothing to see in the test's output.
            for _ in 0..MOST_WAITING {
                state.lines.push_back(String::new());
            }
        }
        let tried = std::sync::atomic::AtomicBool::new(false);
        queue.push_with("(log test) one too many\n".to_owned(), |queue| {
            tried.store(true, std::sync::atomic::Ordering::Relaxed);
            start_writer(queue)
        });
        assert!(tried.into_inner(), "no writer tried for a full queue");
        queue.flush(Duration::from_secs(10));
        let state = queue.state.lock().unwrap();
        assert!(state.lines.is_empty() && state.dropped == 0);
    }

    #[test]
    fn a_panics_message_takes_the_oldest_lines_place_and_never_waits_on_its_own_lock() {
        use std::os::fd::AsFd;
        let queue: &'static Queue = Box::leak(Box::default());
        {
            let mut state = queue.state.lock().unwrap();
            for i in 0..MOST_WAITING {
                state.lines.push_back(format!("{i}\n"));
            }
        }
        // Full: the panic's message is kept, the oldest line counted as
        // dropped.
        assert_eq!(
            queue.push_panic("panicked\n".to_owned(), no_thread),
            Some(false)
        );
        {
            let state = queue.state.lock().unwrap();
            assert_eq!(state.lines.len(), MOST_WAITING);
            assert_eq!(state.lines.front().map(String::as_str), Some("1\n"));
            assert_eq!(state.lines.back().map(String::as_str), Some("panicked\n"));
            assert_eq!(state.dropped, 1);
        }
        // The lock held (by this very thread, a panic under it): let go,
        // not waited on for ever.
        let held = queue.state.lock().unwrap();
        let began = Instant::now();
        assert_eq!(queue.push_panic("again\n".to_owned(), no_thread), None);
        assert!(began.elapsed() < Duration::from_secs(10));
        drop(held);
        // And the wait for the writer writes nothing here.
        queue.wait_written(Duration::ZERO);
        assert_eq!(queue.state.lock().unwrap().lines.len(), MOST_WAITING);
        // Written here instead, with no writer: what the deadline leaves
        // unwritten (here all: a full pipe, the deadline past) is counted
        // as dropped.
        let (_read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
        while nix::unistd::write(&write_end, &[b'.'; 4096]).is_ok() {}
        queue.write_here_until(write_end.as_fd(), Instant::now());
        let state = queue.state.lock().unwrap();
        assert!(state.lines.is_empty());
        assert_eq!(state.dropped, MOST_WAITING as u64 + 1);
    }

    #[test]
    fn a_flush_with_no_writer_writes_here_and_keeps_counting_what_stderr_did_not_take() {
        use std::os::fd::AsFd;
        let queue: &'static Queue = Box::leak(Box::default());
        queue.push_with("(log test) one\n".to_owned(), no_thread);
        queue.push_with("(log test) two\n".to_owned(), no_thread);
        queue.state.lock().unwrap().dropped = 5;
        // A full pipe nobody reads: the flush gives up at its patience,
        // and the two lines and the five the count stood for stay counted
        // (what a re-execution tells the new image), not forgotten.
        let (_read_end, write_end) = one_page_non_blocking_pipe();
        while nix::unistd::write(&write_end, &[b'.'; 4096]).is_ok() {}
        let began = Instant::now();
        queue.flush_with(Duration::from_millis(20), no_thread, write_end.as_fd());
        assert!(began.elapsed() < Duration::from_secs(10));
        let state = queue.state.lock().unwrap();
        assert!(state.lines.is_empty());
        assert_eq!(state.unsaid(), 7);
        drop(state);
        // With room, the flush writes them here: the count's line says all
        // seven.
        let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        queue.flush_with(Duration::from_secs(10), no_thread, write_end.as_fd());
        drop(write_end);
        let mut said = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(read_end), &mut said).unwrap();
        assert_eq!(said, dropped_line(7));
        assert_eq!(queue.state.lock().unwrap().unsaid(), 0);
    }

    #[test]
    fn a_dropped_lines_line_being_written_counts_all_it_stands_for() {
        let state = State {
            lines: ["one\n".to_owned()].into(),
            dropped: 2,
            in_flight: 5,
            ..State::default()
        };
        assert_eq!(state.unsaid(), 8);
    }

    #[test]
    fn lines_a_previous_image_lost_are_counted_and_said_as_dropped() {
        let queue: &'static Queue = Box::leak(Box::default());
        queue.count_dropped(3, no_thread);
        queue.push_with("(log test) next\n".to_owned(), no_thread);
        let state = queue.state.lock().unwrap();
        assert_eq!(
            (state.dropped, state.lines.len(), state.writing),
            (3, 1, false)
        );
        drop(state);
        // Said by the writer, after the lines waiting.
        let written = std::sync::Mutex::new(Vec::new());
        queue.state.lock().unwrap().writing = true;
        queue.write_all_with(|line| {
            written
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(line).into_owned());
            true
        });
        assert_eq!(
            written.into_inner().unwrap(),
            [
                "(log test) next\n",
                "littleboss: 3 log line(s) dropped: stderr took no lines for a while\n"
            ]
        );
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_a_flush_waits_with_patience() {
        // A queue of its own, leaked to be 'static as the process's is.
        let queue: &'static Queue = Box::leak(Box::default());
        {
            // Held: the writer cannot take a line, as if stderr blocked.
            let mut state = queue.state.lock().unwrap();
            state.writing = true;
            for i in 0..MOST_WAITING + 5 {
                state.lines.push_back(format!("{i}\n"));
            }
            state.lines.truncate(MOST_WAITING);
        }
        queue.push("one too many\n".to_owned());
        assert_eq!(queue.state.lock().unwrap().dropped, 1);
        // The writer stuck (marked running, never finishing): a flush gives
        // up at its patience.
        let began = Instant::now();
        queue.flush(Duration::from_millis(50));
        assert!(began.elapsed() >= Duration::from_millis(50));
        assert_eq!(queue.state.lock().unwrap().lines.len(), MOST_WAITING);
    }

    /// A pipe of one page whose write end is non-blocking, as a shared
    /// stderr a child made so; close-on-exec, so that no process another
    /// test starts keeps an end open.
    fn one_page_non_blocking_pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
        use nix::fcntl::{FcntlArg, OFlag, fcntl};
        let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        fcntl(&write_end, FcntlArg::F_SETPIPE_SZ(4096)).unwrap();
        fcntl(&write_end, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
        (read_end, write_end)
    }

    #[test]
    fn a_line_into_a_full_non_blocking_pipe_waits_for_room() {
        use std::io::Read;
        use std::os::fd::AsFd;
        // A child made the shared stderr non-blocking, and its reader is
        // behind: the line waits, and arrives whole.
        // A pipe of one page and a line of a megabyte: the line meets a
        // full pipe again and again, however the two threads run.
        let (read_end, write_end) = one_page_non_blocking_pipe();
        let filler = vec![b'.'; 4096];
        let mut filled = 0;
        while let Ok(n) = nix::unistd::write(&write_end, &filler) {
            filled += n;
        }
        let line = format!("littleboss: {}\n", "x".repeat(1 << 20));
        let writing = {
            let line = line.clone();
            std::thread::spawn(move || {
                write_all_waiting(
                    write_end.as_fd(),
                    &mut line.as_bytes(),
                    Wait::EachStall(Duration::from_secs(60)),
                )
            })
        };
        let mut read = std::fs::File::from(read_end);
        let mut got = vec![0; filled + line.len()];
        read.read_exact(&mut got).unwrap();
        writing.join().unwrap().unwrap();
        assert!(got[..filled].iter().all(|&b| b == b'.'));
        assert_eq!(&got[filled..], line.as_bytes());
    }

    #[test]
    fn a_line_into_a_non_blocking_pipe_nobody_reads_is_given_up() {
        use std::os::fd::AsFd;
        let (_read_end, write_end) = one_page_non_blocking_pipe();
        while nix::unistd::write(&write_end, &[b'.'; 4096]).is_ok() {}
        let gave_up = write_all_waiting(
            write_end.as_fd(),
            &mut &b"x\n"[..],
            Wait::EachStall(Duration::from_millis(10)),
        );
        assert_eq!(gave_up.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    }

    #[test]
    fn the_line_after_one_given_up_part_way_starts_a_line_of_its_own() {
        use std::io::Read;
        use std::os::fd::AsFd;
        let (read_end, write_end) = one_page_non_blocking_pipe();
        let cut = AtomicBool::new(false);
        let patience = Wait::EachStall(Duration::from_millis(10));
        // Longer than the pipe holds, and nobody reads: cut part-way.
        let long = format!("littleboss: {}\n", "x".repeat(8192));
        assert!(!write_after_cut(
            write_end.as_fd(),
            long.as_bytes(),
            patience,
            &cut
        ));
        assert!(cut.load(Ordering::Relaxed));
        // Nothing of the next one fits either: still cut.
        assert!(!write_after_cut(
            write_end.as_fd(),
            b"lost\n",
            patience,
            &cut
        ));
        assert!(cut.load(Ordering::Relaxed));
        let mut read = std::fs::File::from(read_end);
        let mut part = vec![0; 4096];
        read.read_exact(&mut part).unwrap();
        assert!(write_after_cut(
            write_end.as_fd(),
            b"littleboss: next\n",
            patience,
            &cut
        ));
        assert!(!cut.load(Ordering::Relaxed));
        drop(write_end);
        let mut next = Vec::new();
        read.read_to_end(&mut next).unwrap();
        assert_eq!(String::from_utf8_lossy(&next), "\nlittleboss: next\n");
    }

    #[test]
    fn lines_written_with_no_writer_thread_give_up_at_the_deadline() {
        use std::io::Read;
        use std::os::fd::AsFd;
        // A blocking pipe, full, nobody reading: as an exit's flush finds
        // a stalled stderr with no thread to be had for the writer.
        let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        nix::fcntl::fcntl(&write_end, nix::fcntl::FcntlArg::F_SETPIPE_SZ(4096)).unwrap();
        let lines = vec![
            "littleboss: one\n".to_owned(),
            "littleboss: two\n".to_owned(),
        ];
        let (done_tx, done) = std::sync::mpsc::channel();
        let filled = std::thread::spawn(move || {
            let filler = [b'.'; 4096];
            nix::unistd::write(&write_end, &filler).unwrap();
            let cut = AtomicBool::new(false);
            let deadline = Instant::now() + Duration::from_millis(50);
            let written = write_until(write_end.as_fd(), &lines, deadline, &cut);
            done_tx.send(written).unwrap();
            // Room again: what fits is written, whole.
            let deadline = Instant::now() + Duration::from_secs(60);
            let written = write_until(write_end.as_fd(), &lines, deadline, &cut);
            done_tx.send(written).unwrap();
        });
        // Not stuck in a write for as long as nobody reads.
        let given_up = done.recv_timeout(Duration::from_secs(30));
        assert_eq!(given_up, Ok(0), "the exit's flush waited on stderr");
        // Read as it comes (to its end, as the thread drops its end).
        let mut read = std::fs::File::from(read_end);
        let mut all = String::new();
        read.read_to_string(&mut all).unwrap();
        assert_eq!(done.recv_timeout(Duration::from_secs(30)), Ok(2));
        filled.join().unwrap();
        assert_eq!(
            all,
            format!("{}littleboss: one\nlittleboss: two\n", ".".repeat(4096))
        );
    }

    #[test]
    fn a_long_line_with_no_writer_thread_gives_up_at_the_deadline_on_a_blocking_pipe() {
        use std::io::Read;
        use std::os::fd::AsFd;
        // A blocking pipe with a page of room, nobody reading: as a
        // panic's backtrace, longer than that, finds a stalled stderr
        // with no thread to be had for the writer.
        let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        nix::fcntl::fcntl(&write_end, nix::fcntl::FcntlArg::F_SETPIPE_SZ(8192)).unwrap();
        let long = format!("littleboss: {}\n", "x".repeat(64 * 1024));
        let lines = vec![long.clone()];
        let (done_tx, done) = std::sync::mpsc::channel();
        let writing = std::thread::spawn(move || {
            nix::unistd::write(&write_end, &[b'.'; 4096]).unwrap();
            let cut = AtomicBool::new(false);
            let deadline = Instant::now() + Duration::from_millis(50);
            let written = write_until(write_end.as_fd(), &lines, deadline, &cut);
            done_tx
                .send((written, cut.load(Ordering::Relaxed)))
                .unwrap();
        });
        // Not stuck in a write for as long as nobody reads.
        let given_up = done.recv_timeout(Duration::from_secs(30));
        // (Read, so that a write stuck in the kernel ends and the thread
        // with it.)
        let mut read = std::fs::File::from(read_end);
        let mut all = Vec::new();
        read.read_to_end(&mut all).unwrap();
        writing.join().unwrap();
        assert_eq!(given_up, Ok((0, true)), "the write waited on stderr");
        // The page there was room for, of the line, and no more.
        assert_eq!(all.len(), 2 * 4096);
        assert_eq!(&all[4096..], &long.as_bytes()[..4096]);
    }

    #[test]
    fn a_line_in_pieces_keeps_to_the_deadline_with_a_reader_that_reads_a_page_at_a_time() {
        use std::io::Read;
        use std::os::fd::AsFd;
        // A non-blocking stderr whose reader takes a page every 20 ms:
        // each stall ends in room, but a line of 64 pages takes over a
        // second, and the flush has 100 ms. It is given up on, not
        // written whole with 100 ms granted again at every stall.
        let (read_end, write_end) = one_page_non_blocking_pipe();
        let reading = std::thread::spawn(move || {
            let mut read = std::fs::File::from(read_end);
            let mut page = [0; 4096];
            while read.read(&mut page).is_ok_and(|n| n > 0) {
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let lines = vec![format!("littleboss: {}\n", "x".repeat(64 * 4096))];
        let cut = AtomicBool::new(false);
        let deadline = Instant::now() + Duration::from_millis(100);
        let written = write_until(write_end.as_fd(), &lines, deadline, &cut);
        drop(write_end);
        reading.join().unwrap();
        assert_eq!(written, 0, "the line was waited for past the deadline");
        assert!(cut.load(Ordering::Relaxed));
    }

    #[test]
    fn a_writer_on_a_stderr_that_fails_goes_keeping_the_count() {
        use std::os::fd::AsFd;
        // Its reader gone (EPIPE), fd 2 closed: every write fails at once.
        let queue: &'static Queue = Box::leak(Box::default());
        {
            let mut state = queue.lock();
            state.writing = true;
            state.dropped = 3;
            state.lines.push_back("(log test) lost\n".to_owned());
        }
        let (done_tx, done) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            queue.write_all_with(|_| false);
            done_tx.send(()).unwrap();
        });
        // Not spinning on the count's line for ever.
        assert_eq!(done.recv_timeout(Duration::from_secs(30)), Ok(()));
        let state = queue.lock();
        assert!(!state.writing && state.lines.is_empty());
        // The line given up on counted with the others, for the next
        // writer to say.
        assert_eq!(state.dropped, 4);
        drop(state);
        // A flush does not wait out its patience for a count no writer
        // is there to say.
        let began = Instant::now();
        let started = |queue: &'static Queue| {
            std::thread::spawn(move || queue.write_all_with(|_| false));
            Ok(())
        };
        queue.flush_with(Duration::from_secs(30), started, std::io::stderr().as_fd());
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "{:?}",
            began.elapsed()
        );
        assert_eq!(queue.lock().dropped, 4);
        // A line queued while the count's line fails is written, not left
        // waiting for another line with the writer gone.
        let tries = std::sync::atomic::AtomicUsize::new(0);
        let written = Mutex::new(Vec::new());
        queue.lock().writing = true;
        queue.write_all_with(|bytes| {
            if tries.fetch_add(1, Ordering::SeqCst) == 0 {
                let late = "(log test) late\n".to_owned();
                queue.lock().lines.push_back(late);
                return false;
            }
            written
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(bytes).into_owned());
            true
        });
        let written = written.into_inner().unwrap();
        assert_eq!(
            written.first().map(String::as_str),
            Some("(log test) late\n")
        );
        assert!(written[1].contains("4 log line(s) dropped"), "{written:?}");
        assert!(queue.lock().lines.is_empty() && queue.lock().dropped == 0);
    }

    #[test]
    fn the_writer_writes_what_comes_lingers_then_goes() {
        let queue: &'static Queue = Box::leak(Box::default());
        // Blank lines, on the tests' own stderr.
        queue.push("\n".to_owned());
        queue.push("\n".to_owned());
        // A flush returns once both are written.
        queue.flush(Duration::from_secs(60));
        assert!(!queue.lock().waiting());
        // It goes once no line came for a while.
        let deadline = Instant::now() + Duration::from_secs(60);
        while queue.lock().writing {
            assert!(Instant::now() < deadline, "the writer never went");
            std::thread::sleep(Duration::from_millis(10));
        }
        // A line after it went starts another.
        queue.push("\n".to_owned());
        queue.flush(Duration::from_secs(60));
        assert!(!queue.lock().waiting());
    }
}
