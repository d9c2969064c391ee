//! `-littleboss=reload|stop|status`: talk to the running supervisor and
//! report what it says.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::dir::socket_path;
use super::protocol::{self, Request, Response};
use super::status::visible;
use crate::config::Config;
use crate::exit::{NOT_RUNNING, UNKNOWN, fail};
use crate::flags::{Invocation, Mode};

/// How long `status` waits for its answer.
const STATUS_PATIENCE: Duration = Duration::from_secs(10);

/// How long past its children's last kill a stopping supervisor may take
/// to say it has stopped.
const STOP_EXIT_MARGIN: Duration = Duration::from_secs(60);

/// What a reload queued behind another waits past the supervisor's bound
/// for the child starting ahead of it (its start may still be under way
/// once that child's outcome is known).
const WAIT_MARGIN: Duration = Duration::from_secs(60);

/// A test's shorter [`STATUS_PATIENCE`], in milliseconds, so that a test of
/// a supervisor that does not answer need not wait the whole of it.
const TEST_STATUS_PATIENCE_VAR: &str = "LITTLEBOSS_TEST_STATUS_PATIENCE_MS";

/// The longest answer line read from a supervisor. Nothing bounds what
/// it sends (a status lists the arguments of every child it shows, each
/// up to the kernel's `ARG_MAX`, escaped), so the bound is far above any
/// such answer: it only keeps a peer that never ends its line from taking
/// all memory.
const MAX_ANSWER: usize = 256 * 1024 * 1024;

/// A test's smaller [`MAX_ANSWER`], in bytes, so that a test of an answer
/// that never ends need not send hundreds of megabytes.
const TEST_MAX_ANSWER_VAR: &str = "LITTLEBOSS_TEST_MAX_ANSWER";

/// [`MAX_ANSWER`], or the test's (never more).
fn max_answer() -> usize {
    crate::test_hook::test_hook(TEST_MAX_ANSWER_VAR)
        .map_or(MAX_ANSWER, |n: usize| n.min(MAX_ANSWER))
}

/// [`STATUS_PATIENCE`], or the test's.
fn status_patience() -> Duration {
    crate::test_hook::test_hook(TEST_STATUS_PATIENCE_VAR)
        .map_or(STATUS_PATIENCE, Duration::from_millis)
        // Never none (a zero read timeout is refused, then reads block),
        // never more than a user's.
        .clamp(Duration::from_millis(1), STATUS_PATIENCE)
}

/// Why a control command ends without the answer it asked for: its exit
/// code and what to say.
#[derive(Debug)]
struct Failure {
    code: i32,
    message: String,
    /// The supervisor closed the connection before an answer: what a
    /// `stop` told it stops reads otherwise.
    closed: bool,
    /// The request went, and its answer did not come (or came unreadable:
    /// `answered`): it may still take effect, for all this command knows.
    sent: bool,
    /// An answer came back that this build cannot read (whole, or cut
    /// short as the supervisor died): the request was read.
    answered: bool,
}

impl Failure {
    fn new(code: i32, message: impl std::fmt::Display) -> Failure {
        Failure {
            code,
            message: message.to_string(),
            closed: false,
            sent: false,
            answered: false,
        }
    }

    /// Its request was read, and answered in a line this build cannot
    /// read (or one cut short).
    fn answered_unreadably(self) -> Failure {
        Failure {
            answered: true,
            ..self.after_sending()
        }
    }

    /// Its request went before it: see [`Failure::sent`].
    fn after_sending(self) -> Failure {
        Failure { sent: true, ..self }
    }

    /// The connection closed, after the request went, before an answer
    /// came.
    fn closed() -> Failure {
        Failure {
            closed: true,
            sent: true,
            ..Failure::new(
                UNKNOWN,
                "the supervisor closed the connection without answering",
            )
        }
    }
}

/// A line on stderr for the user. Not `eprintln!`, which panics once the
/// reader is gone (`2>&1 | head -n1`): the command's exit code, a `stop`'s
/// child's code, must survive that.
macro_rules! say {
    ($($arg:tt)*) => {
        crate::log::write_line(format_args!($($arg)*))
    };
}

/// Writes `status` (a status, or a failure's object) on stdout as pretty
/// JSON, every object's keys sorted; `Ok(0)`, a status's exit code.
fn print_json(status: &impl serde::Serialize) -> Result<i32, Failure> {
    let status = serde_json::to_value(status).expect("a status serializes");
    let json = serde_json::to_string_pretty(&keys_sorted(status)).expect("a value serializes");
    print_out(&format!("{}\n", json_for_a_terminal(&json)));
    Ok(0)
}

/// `value` with every object's keys in alphabetical order, as the README
/// says `--json` prints them: in a program built with serde_json's
/// `preserve_order` (which cargo turns on for every crate of a build once
/// one asks for it), they would come in the order they were sent.
fn keys_sorted(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let sorted: std::collections::BTreeMap<_, _> = map
                .into_iter()
                .map(|(key, value)| (key, keys_sorted(value)))
                .collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(keys_sorted).collect()),
        other => other,
    }
}

/// `json` with every character that could act on a terminal or hide what
/// follows ([`unprintable`](crate::log::unprintable): C1 controls, DEL,
/// bidirectional overrides, which JSON leaves as they are) written as its
/// `\uXXXX` escape: the same JSON to any reader, and a path or argument
/// from the supervisor cannot move the cursor or reorder a line. Outside
/// strings JSON holds only ASCII punctuation, letters and blanks.
fn json_for_a_terminal(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        // JSON's own escapes already cover C0; blanks between tokens stay.
        if crate::log::unprintable(c) && !c.is_ascii_whitespace() {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `text` on stdout and flushes it; a reader gone (`| head -0`)
/// takes nothing, and the command still exits with its own code.
pub(crate) fn print_out(text: &str) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Runs a control command and exits: 0 on success, 1 when a reload fails
/// (or cannot be asked: this binary's path not found, a request too
/// long), [`NOT_RUNNING`] with no supervisor, [`UNKNOWN`] when it cannot
/// tell (a `reload`, `stop` or `status` the supervisor refused unread
/// too),
/// [`USAGE`](crate::exit::USAGE) for a command line or `LITTLEBOSS_DIR`
/// it cannot use, and for `stop` the child's exit code.
/// `status --json` prints one JSON object on stdout once it runs (not for
/// a misspelt `--json`, which is said as usage): the supervisor's status,
/// or `name`, `error` and `exit_code`, so that a script reading it never
/// reads nothing.
pub(crate) fn run(config: &Config, inv: Invocation) -> ! {
    // The program's code before `run` may have restored its default.
    crate::sigpipe::ignore();
    // Where it stands from the start: a signal before the request is
    // written says it may have gone.
    let (name, flag) = (config.name.clone(), config.flag.clone());
    let asking = match inv.mode {
        Mode::Reload => Some(Standing::Reload {
            name,
            flag,
            progress: Progress::Asking,
        }),
        Mode::Stop => Some(Standing::Stop {
            name,
            flag,
            progress: StopProgress::Asking,
        }),
        Mode::Status | Mode::Bypass | Mode::Start => None,
    };
    if let Some(asking) = asking {
        standing(Some(asking));
        say_where_it_stands_on_signals();
    }
    let json = match inv.mode {
        Mode::Status => wants_json(&inv.program_args).unwrap_or_else(|e| fail(e.code, e.message)),
        _ => false,
    };
    let ended = command(config, inv, json);
    // Said now, whatever a signal would have said.
    last_words();
    match ended {
        Ok(code) => std::process::exit(code),
        Err(failure) => {
            if json {
                print_failure_json(&config.name, &failure.message, failure.code);
            }
            fail(failure.code, failure.message)
        }
    }
}

/// Where the request of a command ended by a stop signal now stands.
#[derive(Debug, Clone)]
enum Standing {
    /// A reload of the service `name`, as far as it went; `flag` is the
    /// mode flag as its program names it.
    Reload {
        name: String,
        flag: String,
        progress: Progress,
    },
    /// A stop of `name`, as far as it went.
    Stop {
        name: String,
        flag: String,
        progress: StopProgress,
    },
}

impl Standing {
    /// What to say of it, ended by `signal`.
    fn said(&self, signal: nix::sys::signal::Signal) -> String {
        let ended = format!("this command was ended by {}", signal.as_str());
        match self {
            Standing::Reload {
                name,
                flag,
                progress,
            } => reload_unfinished(name, flag, Failure::new(UNKNOWN, ended), *progress).message,
            Standing::Stop {
                name,
                flag,
                progress,
            } => stop_unfinished(name, flag, Failure::new(UNKNOWN, ended), *progress).message,
        }
    }
}

/// Where this command's request stands, for a stop signal to say: set
/// before its signals are read, `None` once its outcome is known.
static STANDING: std::sync::Mutex<Option<Standing>> = std::sync::Mutex::new(None);

/// Records where this command's request stands.
fn standing(now: Option<Standing>) {
    *STANDING.lock().unwrap_or_else(|e| e.into_inner()) = now;
}

/// The request's outcome is known: what is said next, and the exit, are
/// the command's, not a stop signal's (its standing, set from the
/// command's start, is gone).
fn last_words() {
    standing(None);
}

/// The thread that reads the stop signals of a control command (see
/// [`say_where_it_stands_on_signals`]), for [`pass_on`].
static SIGNAL_READER: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// The command's process, for [`pass_on`] to tell a copy forked since.
static COMMAND_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Reads SIGINT, SIGTERM and SIGHUP on a thread of their own (blocked on
/// this one, and passed on to it by [`pass_on`] from a thread the
/// program started before `run`, which does not block them), so that a
/// `reload` or `stop` ended by one (a person's Ctrl-C, a deploy tool's or
/// `ExecReload=`'s timeout) says where its request stands, as a command
/// ended by its own timeout does (a reload under way goes on; one not
/// begun is dropped), then dies of the signal, as it would have. Left at
/// their defaults if no thread can be had.
fn say_where_it_stands_on_signals() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let mut signals = SigSet::empty();
    let stops: Vec<Signal> = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP]
        .into_iter()
        // Started ignored (`nohup`, a shell's background job, `trap ''
        // HUP`): it stays so.
        .filter(|&signal| !crate::ignored::is_ignored(signal as i32))
        .collect();
    if stops.is_empty() {
        return;
    }
    for &signal in &stops {
        signals.add(signal);
    }
    if signals.thread_block().is_err() {
        return;
    }
    let (reading_tx, reading_rx) = std::sync::mpsc::channel();
    let reading = std::thread::Builder::new()
        .name("littleboss-signals".into())
        .spawn(move || {
            let tid = nix::unistd::gettid().as_raw();
            SIGNAL_READER.store(tid, std::sync::atomic::Ordering::SeqCst);
            let pid = nix::unistd::getpid().as_raw();
            COMMAND_PID.store(pid, std::sync::atomic::Ordering::SeqCst);
            let _ = reading_tx.send(());
            let Ok(signal) = signals.wait() else { return };
            // Ended within the patience whatever stderr does (a paused
            // terminal, a pipe nobody reads): the line may be lost, the
            // end is not (nor, without a thread for that, is the line).
            let backstop = std::thread::Builder::new().spawn(move || {
                std::thread::sleep(crate::log::EXIT_PATIENCE);
                crate::report::die_of(signal)
            });
            if backstop.is_err() {
                crate::report::die_of(signal)
            }
            // No standing: it is saying how it ended, and exits so,
            // within the patience.
            let Some(now) = STANDING.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
                loop {
                    std::thread::park();
                }
            };
            crate::log::log!("{}", now.said(signal));
            crate::log::flush(crate::log::EXIT_PATIENCE);
            crate::report::die_of(signal)
        });
    if reading.is_err() || reading_rx.recv().is_err() {
        let _ = signals.thread_unblock();
        return;
    }
    let action = SigAction::new(
        SigHandler::Handler(pass_on),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in stops {
        // SAFETY: `pass_on` is async-signal-safe: it reads an atomic,
        // makes two syscalls (getpid, tgkill) and restores errno.
        let _ = unsafe { sigaction(signal, &action) };
    }
}

/// The handler of a control command's stop signals, run only on a thread
/// that does not block them (one the program started before `run`):
/// sends the signal on to the thread that reads them, where it waits. In
/// a process one of those threads forked since, which has no such
/// thread, the signal does what it would by default.
extern "C" fn pass_on(number: nix::libc::c_int) {
    let errno = nix::errno::Errno::last_raw();
    let pid = nix::unistd::getpid().as_raw();
    if pid == COMMAND_PID.load(std::sync::atomic::Ordering::SeqCst) {
        let reader = SIGNAL_READER.load(std::sync::atomic::Ordering::SeqCst);
        // SAFETY: tgkill takes plain numbers and only sends a signal.
        unsafe { nix::libc::syscall(nix::libc::SYS_tgkill, pid, reader, number) };
    } else {
        // SAFETY: signal and raise are async-signal-safe, and take plain
        // numbers: the default action back, and the signal again, which
        // is pending until this handler returns.
        unsafe {
            nix::libc::signal(number, nix::libc::SIG_DFL);
            nix::libc::raise(number);
        }
    }
    nix::errno::Errno::set_raw(errno);
}

/// What `status --json` prints when there is no status: the service's
/// `name`, the `error` and the `exit_code`.
pub(crate) fn print_failure_json(name: &str, error: &str, exit_code: i32) {
    let object = serde_json::json!({
        "name": name,
        "error": error,
        "exit_code": exit_code,
    });
    let _ = print_json(&object);
}

/// Whether `status` is asked for JSON: `--json` (or `-json`) before any
/// `--`, which ends what is ours. A misspelt one (`--jsno`, `--JSON`,
/// `--json=true`) given alone is a usage mistake: ignored, a script
/// expecting JSON would get text. Among other arguments it is left alone:
/// an init script may pass the program's own options to every command.
fn wants_json(program_args: &[std::ffi::OsString]) -> Result<bool, Failure> {
    let ours: Vec<_> = program_args
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .collect();
    if let [only] = ours.as_slice()
        && let Some(arg) = only.to_str()
        && crate::near_miss::misspelt_switch(arg, "json")
    {
        return Err(Failure::new(
            crate::exit::USAGE,
            // Escaped: a script's `\r` would move the terminal's cursor.
            format!(
                "`{}` looks like a misspelt --json (status takes --json, with no value)",
                arg.escape_debug()
            ),
        ));
    }
    Ok(ours.iter().any(|a| *a == "--json" || *a == "-json"))
}

/// Connects, asks, and says what the supervisor answered: the exit code
/// on success (and `stop`'s child's code).
fn command(config: &Config, inv: Invocation, json: bool) -> Result<i32, Failure> {
    let name = &config.name;
    let flag = &config.flag;
    let path = socket_path(name);
    // A usage mistake (`LITTLEBOSS_DIR` too long), as `dispatch` says it.
    super::dir::check_socket_path(&path).map_err(|e| Failure::new(crate::exit::USAGE, e))?;
    // A folder that is there must be ours before anything is asked of it:
    // one of another user's would only say "permission denied" below.
    if let Some(folder) = path.parent().filter(|f| f.symlink_metadata().is_ok()) {
        super::dir::check(folder).map_err(|e| Failure::new(UNKNOWN, e))?;
    }
    // A stuck supervisor must not hang the command for ever. A healthy one
    // answers `status` at once (its loop never waits): `status` has its
    // patience for the whole exchange. The others wait within a child's
    // ready or lameduck timeout for each line (a reload queued behind
    // another says so meanwhile).
    let (patience, deadline) = match inv.mode {
        Mode::Status => {
            let patience = status_patience();
            (patience, Some(Instant::now() + patience))
        }
        _ => (
            config.ready_timeout + config.lameduck + Duration::from_secs(60),
            None,
        ),
    };
    let stream = connect_within(&path, patience).map_err(|e| unreachable(name, &path, &e))?;
    trust(&stream, &path).map_err(|e| Failure::new(UNKNOWN, e))?;
    let _ = stream.set_read_timeout(Some(patience));
    let _ = stream.set_write_timeout(Some(patience));
    let supervisor =
        nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
            .ok()
            .map(|cred| cred.pid())
            // 0: a peer outside this pid namespace, which no `kill` here
            // reaches.
            .filter(|&pid| pid > 0);
    // Out of descriptors, said as any other failure (`--json` too).
    let reading = stream.try_clone().map_err(|e| {
        Failure::new(
            UNKNOWN,
            format!(
                "cannot read from the control socket {}: {e}",
                path.display()
            ),
        )
    })?;
    let mut session = Session {
        reader: BufReader::new(ByDeadline {
            stream: reading,
            deadline,
        }),
        writer: stream,
        last: Vec::new(),
        heard: false,
        supervisor,
        name: name.clone(),
        lock: path.with_extension("lock"),
    };
    match inv.mode {
        Mode::Status => {
            let answer = session.ask(&Request::Status);
            // As the supervisor sent it: a field this build does not know
            // is kept, one an older supervisor did not send stays out
            // rather than shown as a default, and one whose type this
            // build reads otherwise is no reason to fail.
            let raw = protocol::raw_status(&session.last);
            // It runs, and answered: what this build cannot read of it
            // (another build's) is shown as it came, not made a failure,
            // with a note on stderr (under `--json` too: stdout stays the
            // object).
            let cannot_read = |failure: &Failure| {
                say!(
                    "status of {name}: this build cannot read all of the answer ({}); as the supervisor sent it:",
                    failure.message
                )
            };
            match (answer, raw) {
                // (A status this build reads is one `raw_status` reads.)
                (answer, Some(raw)) if json => {
                    if let Err(failure) = &answer {
                        cannot_read(failure);
                    }
                    print_json(&raw)
                }
                (Ok(Response::Status { status }), _) => {
                    print_out(&status.render());
                    Ok(0)
                }
                (Err(failure), Some(raw)) => {
                    cannot_read(&failure);
                    print_json(&raw)
                }
                (Err(failure), None) => Err(failure),
                (Ok(Response::Error { error, .. }), _) => Err(Failure::new(
                    UNKNOWN,
                    format!("status of {name} failed: {}", visible(&error)),
                )),
                (Ok(other), _) => Err(unexpected(other)),
            }
        }
        Mode::Reload => {
            let exe = crate::invoked::path(&inv.program_args[0])
                .map_err(|e| Failure::new(1, format!("cannot find this binary's path: {e}")))?;
            // A path that is not UTF-8 goes as its bytes (`path_bytes`),
            // which a supervisor before this release cannot read: it
            // answers that the request is bad (that release's client
            // refused such a path itself).
            let argv0 = std::path::PathBuf::from(&inv.program_args[0]);
            let reloading = |progress| {
                standing(Some(Standing::Reload {
                    name: name.clone(),
                    flag: flag.clone(),
                    progress,
                }))
            };
            let reload = session.ask(&Request::Reload {
                path: exe,
                argv0: Some(argv0),
                args: reload_args(inv.child_args),
                listeners: Some(config.listeners.clone()),
                // Only to name it in messages (its identity, `dir_id`,
                // places relative unix paths): left out if not UTF-8,
                // which a supervisor before this release could not read,
                // though it took the reload, or longer than a request may
                // carry.
                dir: std::env::current_dir()
                    .ok()
                    .filter(|d| d.to_str().is_some() && protocol::dir_fits(d)),
                dir_id: crate::own_file::identity(Path::new(".")),
            });
            let mut response = reload.map_err(|failure| match failure.sent {
                true => reload_unfinished(name, flag, failure, Progress::Unanswered),
                false => failure,
            })?;
            // The child the reload was last said to wait for, and the one
            // it started.
            let (mut told_of, mut started) = (None, None);
            loop {
                // Where it stands, before anything is said of it: what a
                // signal meanwhile says (nothing, once it has ended).
                match &response {
                    Response::Waiting { .. } => {
                        reloading(started.map_or(Progress::Waiting, Progress::Started))
                    }
                    Response::Reloading { pid, .. } => reloading(Progress::Started(*pid)),
                    _ => last_words(),
                }
                match response {
                    Response::Waiting { pid, within_ms } => {
                        // Told again at that child's hello, with a new
                        // bound: said once a child.
                        if told_of != Some(pid) {
                            say!(
                                "reload of {name} waits for {} to finish starting",
                                super::protocol::starting_child(pid)
                            );
                            told_of = Some(pid);
                        }
                        // The running build's deadlines for that child,
                        // not this build's, bound the wait: given up on
                        // sooner, this reload would be dropped with its
                        // connection.
                        if let Some(ms) = within_ms {
                            session
                                .wait_at_least(Duration::from_millis(ms) + WAIT_MARGIN, patience);
                        }
                    }
                    Response::Reloading { pid, changes } => {
                        started = Some(pid);
                        say!("reloading {name}: new child pid {pid}");
                        for change in changes {
                            say!("{}", change_line(&change));
                        }
                    }
                    Response::Reloaded {
                        pid,
                        old_pid,
                        supervisor_not_upgraded,
                    } => {
                        match old_pid {
                            Some(old) => say!(
                                "reloaded {name}: pid {pid} is serving, pid {old} is winding down"
                            ),
                            None => say!("reloaded {name}: pid {pid} is serving"),
                        }
                        // The reload stands; the supervisor's own code is
                        // what did not change.
                        if let Some(why) = supervisor_not_upgraded {
                            let why = visible(&why);
                            say!("the supervisor of {name} runs on from its old binary: {why}");
                        }
                        return Ok(0);
                    }
                    // Turned away before it was read (too many control
                    // connections), or put off by a stop: nothing was
                    // tried, which is not 1, a reload that failed.
                    Response::Error {
                        error,
                        refused: true,
                    } => {
                        let error = visible(&error);
                        return Err(Failure::new(
                            UNKNOWN,
                            format!("reload of {name} refused: {error}; nothing was tried"),
                        ));
                    }
                    Response::Error { error, .. } => {
                        let error = visible(&error);
                        return Err(Failure::new(1, format!("reload of {name} failed: {error}")));
                    }
                    other => return Err(unexpected(other)),
                }
                let progress = started.map_or(Progress::Waiting, Progress::Started);
                response = session
                    .next()
                    .map_err(|failure| reload_unfinished(name, flag, failure, progress))?;
            }
        }
        Mode::Stop => {
            let mut response = session.ask(&Request::Stop).map_err(|failure| {
                if !failure.sent {
                    return failure;
                }
                stop_unfinished(name, flag, failure, StopProgress::Sent)
            })?;
            loop {
                // As for a reload: where it stands, before it is said.
                match &response {
                    Response::Stopping { .. } => standing(Some(Standing::Stop {
                        name: name.clone(),
                        flag: flag.clone(),
                        progress: StopProgress::Stopping,
                    })),
                    _ => last_words(),
                }
                match response {
                    Response::Stopping { pid, within_ms } => {
                        match pid {
                            Some(pid) => {
                                say!("stopping {name}: child pid {pid} is winding down")
                            }
                            None => say!("stopping {name}"),
                        }
                        // The running build's lameduck timeouts, not this
                        // build's, bound the wait (plus time to exit).
                        if let Some(ms) = within_ms {
                            let bound = Duration::from_millis(ms) + STOP_EXIT_MARGIN;
                            session.wait_at_least(bound, patience);
                        }
                    }
                    // What no process exits with: not passed on (256
                    // would exit 0, a success).
                    Response::Stopped { exit_code } if !(0..=255).contains(&exit_code) => {
                        return Err(Failure::new(
                            UNKNOWN,
                            format!(
                                "stopped {name}, but the supervisor gave exit code {exit_code}, which no process exits with"
                            ),
                        ));
                    }
                    Response::Stopped { exit_code } => {
                        say!("stopped {name}: exit code {exit_code}");
                        return Ok(exit_code);
                    }
                    // Refused (too many control connections): the service
                    // runs on. Not 1, which a child's own exit code may be.
                    Response::Error { error, .. } => {
                        return Err(Failure::new(
                            UNKNOWN,
                            format!("stop of {name} failed: {}; it still runs", visible(&error)),
                        ));
                    }
                    other => return Err(unexpected(other)),
                }
                // Told it stops: a connection closed now is no sign it
                // failed (the supervisor may have been killed meanwhile).
                response = session.next().map_err(|failure| {
                    if !failure.closed {
                        return stop_unfinished(name, flag, failure, StopProgress::Stopping);
                    }
                    Failure::new(
                        UNKNOWN,
                        format!(
                            "the supervisor closed the connection while {name} stopped, before it said how; it may have stopped"
                        ),
                    )
                })?;
            }
        }
        Mode::Bypass | Mode::Start => unreachable!("not a control command"),
    }
}

/// How far a reload had come, as the supervisor last said.
#[derive(Debug, Clone, Copy)]
enum Progress {
    /// Being asked: sent, or about to be, and nothing said of it yet.
    Asking,
    /// Sent, and nothing said of it yet.
    Unanswered,
    /// Waiting its turn behind a child starting.
    Waiting,
    /// Its new child, this pid, started.
    Started(u32),
}

/// How far a stop had come, as the supervisor last said.
#[derive(Debug, Clone, Copy)]
enum StopProgress {
    /// Being asked: sent, or about to be.
    Asking,
    /// Sent, and not answered.
    Sent,
    /// Answered: the supervisor stops.
    Stopping,
}

/// `failure`, the end of a stop of `name` whose outcome never came, said
/// as what it means for that stop: one the supervisor said it began goes
/// on without this command; one sent may still be carried out. `flag` is
/// the mode flag as the program names it, for the command that tells.
fn stop_unfinished(name: &str, flag: &str, failure: Failure, progress: StopProgress) -> Failure {
    let ended = failure.message;
    let see = format!("see -{flag}=status");
    let message = match progress {
        StopProgress::Sent | StopProgress::Asking if failure.answered => format!(
            "stop of {name} ended here, its answer unreadable: {ended}; the supervisor read it, and may still stop {name} ({see})"
        ),
        StopProgress::Stopping => {
            format!("stop of {name} goes on without this command: {ended} ({see})")
        }
        StopProgress::Sent => format!(
            "stop of {name} ended here unanswered: {ended}; it was sent, and the supervisor may still stop {name} ({see})"
        ),
        StopProgress::Asking => format!(
            "stop of {name} ended here unanswered: {ended}; if it was sent, the supervisor may still stop {name} ({see})"
        ),
    };
    Failure::new(UNKNOWN, message)
}

/// `failure`, the end of a reload of `name` whose outcome never came, said
/// as what it means for that reload: its new child may take over yet, or
/// fail, for all this command knows; one not begun (waiting its turn, or
/// not read yet) is dropped as this command ends, unless its turn had come
/// (its binds and exec under way, of which the supervisor says nothing
/// until its child runs). `flag` as [`stop_unfinished`]'s.
fn reload_unfinished(name: &str, flag: &str, failure: Failure, progress: Progress) -> Failure {
    let see = format!("see -{flag}=status");
    let what = match progress {
        Progress::Unanswered | Progress::Asking if failure.answered => format!(
            "the supervisor read it, and what it answered this command cannot read; a reload not begun is dropped when its command ends (unless it had begun: {see})"
        ),
        Progress::Started(pid) => {
            format!("its new child pid {pid} had started; whether it took over is unknown ({see})")
        }
        Progress::Waiting => format!(
            "it was waiting its turn, and a reload still waiting is dropped when its command ends (unless its turn had come: {see})"
        ),
        Progress::Unanswered => format!(
            "it was sent, and nothing came back of it; a reload not begun is dropped when its command ends (unless it had begun: {see})"
        ),
        Progress::Asking => format!(
            "it may have been sent, and nothing came back of it; a reload not begun is dropped when its command ends (unless it had begun: {see})"
        ),
    };
    Failure::new(
        failure.code,
        format!(
            "reload of {name} ended here unfinished: {}; {what}",
            failure.message
        ),
    )
}

/// Why the supervisor of `name` at `path` could not be reached (`e`, from
/// connecting): not running, or running but unreachable.
fn unreachable(name: &str, path: &Path, e: &io::Error) -> Failure {
    let missing = e.kind() == io::ErrorKind::NotFound;
    if e.kind() == io::ErrorKind::PermissionDenied {
        // Most likely another user's folder: `su` and `sudo -E` keep the
        // user's XDG_RUNTIME_DIR, which this user may not enter.
        let folder = path.parent().unwrap_or(path);
        let chosen_by = super::dir::chosen_by();
        let instead = match chosen_by {
            "LITTLEBOSS_DIR" => "give this user access to that folder",
            "XDG_RUNTIME_DIR" => {
                "set LITTLEBOSS_DIR to its control folder (`su` and `sudo -E` keep the user's XDG_RUNTIME_DIR)"
            }
            _ => "set LITTLEBOSS_DIR to its control folder",
        };
        return Failure::new(
            UNKNOWN,
            format!(
                "cannot reach the `{name}` supervisor at {}: {e}; the control folder {} came from {chosen_by}, which this user (uid {}) may not enter or connect in: run this as the user that started `{name}`, or {instead}",
                path.display(),
                folder.display(),
                nix::unistd::geteuid()
            ),
        );
    }
    if !missing && e.kind() != io::ErrorKind::ConnectionRefused {
        return Failure::new(
            UNKNOWN,
            format!(
                "cannot reach the `{name}` supervisor at {}: {e}",
                path.display()
            ),
        );
    }
    // Without a socket that answers, its supervisor may run still,
    // holding the service's lock: just starting (its socket not bound
    // yet, an old one's file still there), exiting, or its file removed.
    let lock = path.with_extension("lock");
    let holding = super::holder::lock_holding(&lock);
    if let Some(holder) = holding {
        use super::holder::Holder;
        // Held all the same when its holder cannot be named: a `start`
        // would find it running.
        let mut why = match holder {
            Holder::Named(pid) => format!("`{name}` runs (supervisor pid {pid}), but "),
            Holder::OtherNamespace => format!(
                "`{name}` may be running: its lock file {} is held by a process in another pid namespace, but ",
                lock.display()
            ),
            Holder::Unconfirmed(pid) => format!(
                "`{name}` may be running: its lock file {} is held, listed for pid {pid}, though this command cannot see that pid holding it (the lock passed to a process that inherited it, or the pid's descriptors are not ours to read), but ",
                lock.display()
            ),
        };
        match (missing, holder) {
            (true, Holder::Named(pid)) => {
                let _ = super::server::unreachable_hint(&mut why, path, Some(pid));
            }
            // No supervisor known to run: no signals to suggest.
            (true, _) => why.push_str(&format!(
                "its control socket {} is missing, so it cannot be reached",
                path.display()
            )),
            (false, _) => why.push_str(&format!(
                "its control socket {} refuses connections (it is just starting or exiting); try again in a moment",
                path.display()
            )),
        }
        return Failure::new(UNKNOWN, why);
    }
    // A file that is no socket: no supervisor made it, and none can bind
    // there until it goes.
    let what = if missing || crate::socket::is_socket_file(path) {
        format!("no supervisor at {}", path.display())
    } else {
        format!("{} is not a socket", path.display())
    };
    // One started where the control folder was chosen otherwise (cron or
    // nohup without XDG_RUNTIME_DIR, a login shell with it) runs all the
    // same: not "not running", or a `start` from here would run another.
    if let Some(other) = answering_elsewhere(name) {
        let folder = other.parent().unwrap_or(Path::new("/")).display();
        return Failure::new(
            UNKNOWN,
            format!(
                "`{name}` has no supervisor here ({what}), but one answers at {}, another control folder (it was started with other LITTLEBOSS_DIR, XDG_RUNTIME_DIR or TMPDIR); run this with LITTLEBOSS_DIR={folder}",
                other.display()
            ),
        );
    }
    Failure::new(NOT_RUNNING, format!("`{name}` is not running ({what})"))
}

/// The control socket of another supervisor of `name` that answers in one
/// of the other control folders, if any: in a folder that passes the
/// checks a command makes (ours, private, no symlink), from a peer it
/// would trust (our uid or root), not this process. None is looked for
/// when `LITTLEBOSS_DIR` chose the folder: that choice is deliberate.
pub(crate) fn answering_elsewhere(name: &str) -> Option<PathBuf> {
    if super::dir::chosen_by_env() {
        return None;
    }
    answering_in(name, super::dir::other_folders())
}

/// [`answering_elsewhere`] among `folders`. A folder that fails the
/// checks is not even knocked at: a listener another user put there would
/// learn who asked, and when.
fn answering_in(name: &str, folders: Vec<PathBuf>) -> Option<PathBuf> {
    let ours = std::process::id() as i32;
    (folders.into_iter())
        .filter(|folder| super::dir::check(folder).is_ok())
        .map(|folder| folder.join(format!("{name}.sock")))
        .find(|socket| {
            let Ok(Some(live)) = crate::socket::knock(socket) else {
                return false;
            };
            let peer =
                nix::sys::socket::getsockopt(&live, nix::sys::socket::sockopt::PeerCredentials);
            trust(&live, socket).is_ok() && peer.is_ok_and(|cred| cred.pid() != ours)
        })
}

/// The new child's arguments from the command's, mode flag taken out
/// (wherever it stood): none keeps the serving child's, `--` alone
/// empties them, anything else replaces them exactly.
fn reload_args(args: Vec<std::ffi::OsString>) -> Option<Vec<std::ffi::OsString>> {
    match args.as_slice() {
        [] => None,
        [only] if only == "--" => Some(Vec::new()),
        _ => Some(args),
    }
}

/// The socket as the session reads it: with a deadline, each read waits
/// only what is left of it, so that an answer coming in pieces cannot
/// stretch the whole past it; one past it fails as a read the socket's
/// timeout ended does (`WouldBlock`).
struct ByDeadline {
    stream: UnixStream,
    /// When the whole exchange must be over (`status`'s); without one,
    /// each read and write has the socket's own timeout.
    deadline: Option<Instant>,
}

impl io::Read for ByDeadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.stream.set_read_timeout(Some(left))?;
        }
        self.stream.read(buf)
    }
}

/// Whether process `pid` has ended: gone, or a zombie its parent has not
/// reaped yet.
fn ended(pid: i32) -> bool {
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Err(nix::errno::Errno::ESRCH) => true,
        _ => crate::proc_pid::path(pid, "stat")
            .and_then(|stat| std::fs::read(stat).ok())
            .and_then(|stat| Some(crate::proc_pid::after_name(&stat)?.next()? == "Z"))
            .unwrap_or(false),
    }
}

struct Session {
    reader: BufReader<ByDeadline>,
    writer: UnixStream,
    /// The last line the supervisor answered, as it came: one this build
    /// could read, or a status it could not.
    last: Vec<u8>,
    /// Whether the supervisor has said anything yet.
    heard: bool,
    /// The supervisor's pid, as the kernel tells of the socket's peer.
    supervisor: Option<i32>,
    /// The service's name and lock file: whether a supervisor that closed
    /// the connection unanswered is gone.
    name: String,
    lock: PathBuf,
}

impl Session {
    /// Waits `bound` for each answer from now on, as the supervisor said
    /// the running build's deadlines take, but never less than `patience`.
    fn wait_at_least(&self, bound: Duration, patience: Duration) {
        let _ = self.writer.set_read_timeout(Some(bound.max(patience)));
    }

    fn ask(&mut self, request: &Request) -> Result<Response, Failure> {
        let line = protocol::encode(request);
        // Refused here, not met as a broken pipe halfway through sending.
        if line.len() > protocol::MAX_LINE + 1 {
            return Err(Failure::new(
                1,
                format!(
                    "the request takes {} bytes, more than the {} the supervisor reads (are the arguments that long?)",
                    line.len() - 1,
                    protocol::MAX_LINE
                ),
            ));
        }
        self.time_left(|stream, left| stream.set_write_timeout(left))?;
        if let Err(e) = self.writer.write_all(&line) {
            // A supervisor that stopped reading says why before it closes
            // (an older one refuses requests over 64 KiB): its answer is
            // the news, not the broken pipe.
            let closed = matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            );
            // Its answer came before it had the whole request: not sent,
            // whatever the answer's line says of it.
            if let Some(answer) = closed.then(|| self.answer_if_any()).flatten() {
                return answer.map_err(|failure| Failure {
                    sent: false,
                    answered: false,
                    ..failure
                });
            }
            if let Some(gone) = closed.then(|| self.gone()).flatten() {
                return Err(gone);
            }
            if e.kind() == io::ErrorKind::WouldBlock {
                return Err(Failure::new(
                    UNKNOWN,
                    "the supervisor did not read the request in time",
                ));
            }
            return Err(Failure::new(
                UNKNOWN,
                format!("cannot send the request to the supervisor: {e}"),
            ));
        }
        self.next()
    }

    /// Sets the socket's timeout (by `set`) to what is left before the
    /// deadline, if there is one; an error once it has passed. (Reads
    /// keep to it by themselves: see [`ByDeadline`].)
    fn time_left(
        &self,
        set: impl FnOnce(&UnixStream, Option<Duration>) -> io::Result<()>,
    ) -> Result<(), Failure> {
        let Some(deadline) = self.reader.get_ref().deadline else {
            return Ok(());
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::new(UNKNOWN, self.unanswered()));
        }
        let _ = set(&self.writer, Some(left));
        Ok(())
    }

    /// "Not running", if the supervisor closed the connection before
    /// saying anything and, within a moment, its process has ended and the
    /// service's lock is let go: it exited (asked to stop just before, or
    /// killed), and nothing this command asked stands without it. `None`
    /// otherwise: it may run (an in-place upgrade keeps its pid and lock),
    /// and what this command asked may still be done; and for a
    /// supervisor in another pid namespace, whose pid and lock this
    /// command cannot see.
    fn gone(&self) -> Option<Failure> {
        // Its lock goes with its last descriptors, as it exits.
        const EXITING: Duration = Duration::from_millis(500);
        // (`/proc/locks` as this process's pid namespace lists them.)
        let supervisor =
            (self.supervisor).filter(|_| !self.heard && crate::proc_pid::numbers_ours())?;
        let until = Instant::now() + EXITING;
        while !(ended(supervisor) && super::holder::unheld(&self.lock)) {
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let name = &self.name;
        // Not `sent` (though it went): without its supervisor it takes no
        // effect, and the callers pass on a failure so marked as it is,
        // not as one that may still be carried out (exit 4).
        Some(Failure::new(
            NOT_RUNNING,
            format!(
                "`{name}` is not running: its supervisor exited as this command reached it, before answering"
            ),
        ))
    }

    /// Why no answer came in time: the supervisor (named by its pid, when
    /// known) is busy or stuck, which this command cannot tell apart.
    fn unanswered(&self) -> String {
        let likely = match self.heard {
            false => {
                "it may be starting (its `supervisor_init` still running), stopped (SIGSTOP, a debugger) or stuck (a hung file system)"
            }
            // Past its start, then: a child's step it waits for, or the
            // supervisor, may be stuck. (Where to look next is the
            // caller's to say: a reload's or a stop's, not a status's.)
            true => {
                "it had answered, then said nothing more (what it waits for may be stuck, or it is)"
            }
        };
        match self.supervisor {
            Some(pid) => format!("the supervisor (pid {pid}) did not answer in time: {likely}"),
            None => format!("the supervisor did not answer in time: {likely}"),
        }
    }

    /// An answer already sent, if the supervisor left one: what it said
    /// as [`next`](Session::next) reads it, or `None` if nothing is left
    /// to read.
    fn answer_if_any(&mut self) -> Option<Result<Response, Failure>> {
        loop {
            let mut line = Vec::new();
            match self.read_line(&mut line) {
                Ok(n) if n > 0 => {
                    if let Some(answer) = self.answer_in(line) {
                        return Some(answer);
                    }
                }
                _ => return None,
            }
        }
    }

    /// The next answer, skipping progress lines this build does not know.
    fn next(&mut self) -> Result<Response, Failure> {
        loop {
            let mut line = Vec::new();
            match self.read_line(&mut line) {
                Ok(0) => return Err(self.gone().unwrap_or_else(Failure::closed)),
                // A connection the supervisor never accepted, dropped with
                // its socket (killed before its loop served): closed too.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(self.gone().unwrap_or_else(Failure::closed));
                }
                Ok(_) => {
                    if let Some(answer) = self.answer_in(line) {
                        return answer;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(Failure::new(UNKNOWN, self.unanswered()).after_sending());
                }
                Err(e) => {
                    return Err(Failure::new(
                        UNKNOWN,
                        format!("cannot read the supervisor's answer: {e}"),
                    )
                    .after_sending());
                }
            }
        }
    }

    /// Reads the supervisor's next line into `line`, up to
    /// [`MAX_ANSWER`]: another program at the socket's path that never
    /// sends a line's end cannot grow it without bound.
    fn read_line(&mut self, line: &mut Vec<u8>) -> io::Result<usize> {
        use io::Read;
        let most = max_answer();
        let n = (&mut self.reader)
            .take(most as u64 + 1)
            .read_until(b'\n', line)?;
        if n > most && !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("it is longer than {most} bytes, with no line's end"),
            ));
        }
        Ok(n)
    }

    /// What `line`, as read, answers; `None` for a progress note of a
    /// kind this build does not know (the answer may follow).
    fn answer_in(&mut self, line: Vec<u8>) -> Option<Result<Response, Failure>> {
        self.heard = true;
        let decoded = protocol::decode_answer(line.trim_ascii_end());
        Some(match decoded {
            Ok(protocol::Answer::Known(response)) => {
                self.last = line;
                Ok(response)
            }
            Ok(protocol::Answer::UnknownProgress(_)) => return None,
            Err(e) if protocol::raw_status(&line).is_some() => {
                // Kept for `status --json`, which needs no more.
                self.last = line;
                Err(Failure::new(UNKNOWN, visible(&e)))
            }
            Err(e) if protocol::in_other_version(line.trim_ascii_end()) => {
                Err(Failure::new(UNKNOWN, other_version(e, self.supervisor)))
            }
            // The supervisor gone mid-answer: the request had gone, and
            // was read, as an answer began (not "nothing came back").
            Err(e) if !line.ends_with(b"\n") => Err(Failure::new(
                UNKNOWN,
                format!("the supervisor's answer was cut short: {}", visible(&e)),
            )
            .answered_unreadably()),
            // Which may quote what the supervisor sent. A whole line of
            // this protocol came back: the request was read, and what
            // became of it is for the caller to say.
            Err(e) => Err(Failure::new(UNKNOWN, visible(&e)).answered_unreadably()),
        })
    }
}

/// `why` a supervisor speaking another protocol version could not be
/// asked, and what still reaches it: signals, by its pid (`supervisor`).
fn other_version(why: String, supervisor: Option<i32>) -> String {
    match supervisor {
        Some(pid) => format!(
            "{why}; it is another littleboss build, which signals still reach: `kill -HUP {pid}` reloads the binary its child runs (not this one), `kill -TERM {pid}` stops it"
        ),
        None => why,
    }
}

/// Why a control socket is not to be trusted.
#[derive(Debug)]
enum Distrust {
    Folder(super::dir::DirError),
    Unknown { path: PathBuf, error: nix::Error },
    Stranger { path: PathBuf, uid: u32, us: u32 },
}

impl std::fmt::Display for Distrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Distrust::Folder(e) => e.fmt(f),
            Distrust::Unknown { path, error } => write!(
                f,
                "cannot identify the process behind {}: {error}",
                path.display()
            ),
            Distrust::Stranger { path, uid, us } => write!(
                f,
                "{} is served by uid {uid}, not by us (uid {us}) or root; refusing to talk to it",
                path.display()
            ),
        }
    }
}

/// Connects to the control socket at `path`. A supervisor that has
/// stopped accepting (stopped by a signal, stuck) fills its queue, and a
/// blocking connect would then wait for ever: this one tries again until
/// `patience` has passed.
fn connect_within(path: &Path, patience: Duration) -> io::Result<UnixStream> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        if let Some(stream) = crate::socket::knock(path)? {
            return Ok(stream);
        }
        if std::time::Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "its queue of connections stayed full (it does not accept them)",
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The socket's folder must be private to us, and the peer must be our
/// user or root: anyone else could be impersonating the supervisor.
fn trust(stream: &UnixStream, path: &Path) -> Result<(), Distrust> {
    if let Some(folder) = path.parent() {
        super::dir::check(folder).map_err(Distrust::Folder)?;
    }
    let path = path.to_owned();
    let cred = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|error| Distrust::Unknown {
            path: path.clone(),
            error,
        })?;
    let us = nix::unistd::geteuid().as_raw();
    if cred.uid() != us && cred.uid() != 0 {
        let uid = cred.uid();
        return Err(Distrust::Stranger { path, uid, us });
    }
    Ok(())
}

fn unexpected(response: Response) -> Failure {
    // Named, not quoted: a status can be megabytes of arguments.
    Failure::new(
        UNKNOWN,
        format!(
            "unexpected answer from the supervisor: a `{}` answer to this command",
            response.kind()
        ),
    )
}

/// A reload's change as the command prints it: indented under the
/// reload's line, escaped, its later lines (a path with a newline) deeper
/// than the next change, so that none reads as a change of its own.
fn change_line(change: &str) -> String {
    format!("  {}", visible(change).replace("\n  ", "\n    "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_answer_read_whole_but_unreadable_is_said_as_read_not_as_unanswered() {
        use super::{Failure, Progress, StopProgress, UNKNOWN, reload_unfinished, stop_unfinished};
        let unreadable = || {
            Failure::new(
                UNKNOWN,
                "the supervisor answered `parked`, which this command cannot read",
            )
            .answered_unreadably()
        };
        // The mode flag as the program names it (`flag = "lb"`).
        let stop = stop_unfinished("svc", "lb", unreadable(), StopProgress::Sent).message;
        assert_eq!(
            stop,
            "stop of svc ended here, its answer unreadable: the supervisor answered `parked`, which this command cannot read; the supervisor read it, and may still stop svc (see -lb=status)"
        );
        let reload = reload_unfinished("svc", "lb", unreadable(), Progress::Unanswered).message;
        assert!(
            reload.ends_with("; the supervisor read it, and what it answered this command cannot read; a reload not begun is dropped when its command ends (unless it had begun: see -lb=status)"),
            "{reload}"
        );
        assert!(!reload.contains("nothing came back"), "{reload}");
    }

    #[test]
    fn a_stop_cut_short_says_what_became_of_it_by_how_far_it_came() {
        use super::{Failure, StopProgress, stop_unfinished};
        let said = |progress| {
            let timed_out = Failure::new(4, "the supervisor (pid 7) did not answer in time");
            let failure = stop_unfinished("svc", "littleboss", timed_out, progress);
            assert_eq!(failure.code, 4);
            failure.message
        };
        // Past its "stopping": the stop goes on, as after a signal.
        assert_eq!(
            said(StopProgress::Stopping),
            "stop of svc goes on without this command: the supervisor (pid 7) did not answer in time (see -littleboss=status)"
        );
        assert!(said(StopProgress::Sent).ends_with(
            "did not answer in time; it was sent, and the supervisor may still stop svc (see -littleboss=status)"
        ));
        assert!(
            said(StopProgress::Asking)
                .contains("; if it was sent, the supervisor may still stop svc")
        );
    }

    /// A session with the supervisor's end of the socket, `theirs`.
    fn session() -> (super::Session, std::os::unix::net::UnixStream) {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let session = super::Session {
            reader: std::io::BufReader::new(super::ByDeadline {
                stream: ours.try_clone().unwrap(),
                deadline: None,
            }),
            writer: ours,
            last: Vec::new(),
            heard: false,
            supervisor: None,
            name: "svc".to_owned(),
            lock: std::env::temp_dir().join(format!("lb-session-{}.lock", std::process::id())),
        };
        (session, theirs)
    }

    #[test]
    fn a_connection_closed_unanswered_is_not_running_only_once_the_lock_is_let_go() {
        use nix::fcntl::{Flock, FlockArg};
        use std::io::BufRead;
        // Gone is never told where `/proc` is another pid namespace's.
        if !crate::proc_pid::numbers_ours() {
            eprintln!("skipped: /proc numbers processes otherwise here");
            return;
        }
        // `request`, asked of a supervisor of pid `supervisor` that reads
        // it and closes without an answer (at the read's end, as one
        // killed after its read would), or, not `read`, closes before
        // reading it (at the write's): how the command ends.
        let closed_unanswered = |supervisor: Option<i32>, read: bool, request: super::Request| {
            let (mut asking, theirs) = session();
            asking.supervisor = supervisor;
            let closing = std::thread::spawn(move || {
                let mut request = String::new();
                if read {
                    let _ = std::io::BufReader::new(&theirs).read_line(&mut request);
                }
            });
            let failure = asking.ask(&request).unwrap_err();
            closing.join().unwrap();
            failure
        };
        // A process that has ended, as a killed supervisor has.
        let ended = {
            let mut done = std::process::Command::new("true").spawn().unwrap();
            done.wait().unwrap();
            Some(done.id() as i32)
        };
        // Its lock held: a supervisor that may run, and may still do what
        // was asked.
        let lock = session().0.lock;
        let file = std::fs::File::create(&lock).unwrap();
        let held = Flock::lock(file, FlockArg::LockExclusiveNonblock).unwrap();
        let failure = closed_unanswered(ended, true, super::Request::Status);
        assert_eq!(failure.code, super::UNKNOWN, "{}", failure.message);
        assert!(failure.closed && failure.sent, "{}", failure.message);
        // Let go (the file stays, as after a SIGKILL): not running, at
        // the read's end and at the write's.
        drop(held);
        for read in [true, false] {
            let failure = closed_unanswered(ended, read, super::Request::Stop);
            assert_eq!(failure.code, super::NOT_RUNNING, "{}", failure.message);
            assert_eq!(
                failure.message,
                "`svc` is not running: its supervisor exited as this command reached it, before answering"
            );
        }
        // Its file gone too, as a supervisor's own exit leaves it.
        std::fs::remove_file(&lock).unwrap();
        let failure = closed_unanswered(ended, true, super::Request::Status);
        assert_eq!(failure.code, super::NOT_RUNNING, "{}", failure.message);
        // But its process alive (an upgrade in place execs in the same
        // one), or not known (another pid namespace's): it may run.
        for supervisor in [Some(std::process::id() as i32), None] {
            let failure = closed_unanswered(supervisor, true, super::Request::Status);
            assert_eq!(failure.code, super::UNKNOWN, "{}", failure.message);
        }
    }

    #[test]
    fn an_answer_cut_short_says_the_request_was_read() {
        use std::io::{BufRead, Write};
        let (mut session, theirs) = session();
        // The supervisor reads the request whole, then dies mid-line.
        let supervisor = std::thread::spawn(move || {
            let mut request = Vec::new();
            let mut reader = std::io::BufReader::new(&theirs);
            reader.read_until(b'\n', &mut request).unwrap();
            (&theirs).write_all(b"{\"v\":1,\"type\":\"err").unwrap();
        });
        let failure = session.ask(&super::Request::Stop).unwrap_err();
        supervisor.join().unwrap();
        assert!(failure.sent && failure.answered, "{}", failure.message);
        let said =
            super::reload_unfinished("svc", "littleboss", failure, super::Progress::Unanswered)
                .message;
        assert!(said.contains("cut short"), "{said}");
        assert!(said.contains("the supervisor read it"), "{said}");
        assert!(!said.contains("nothing came back"), "{said}");
    }

    #[test]
    fn an_unreadable_answer_to_a_whole_request_says_it_was_sent() {
        use std::io::Write;
        let (mut session, mut theirs) = session();
        // A newer supervisor's final answer of a kind this build lacks.
        theirs
            .write_all(b"{\"v\":1,\"type\":\"stopped_later\",\"final\":true}\n")
            .unwrap();
        let failure = session.ask(&super::Request::Stop).unwrap_err();
        assert!(failure.sent && failure.answered, "{}", failure.message);
        assert!(
            failure.message.contains("`stopped_later`"),
            "{}",
            failure.message
        );
        // Said as read, not as unanswered.
        let said =
            super::stop_unfinished("svc", "littleboss", failure, super::StopProgress::Sent).message;
        assert!(
            said.starts_with("stop of svc ended here, its answer unreadable: "),
            "{said}"
        );
    }

    #[test]
    fn an_answer_to_a_request_not_sent_whole_says_it_was_not_sent() {
        use std::io::Write;
        let (mut session, mut theirs) = session();
        // A supervisor that answers and closes before reading a request
        // too long for it, its answer cut short as it dies.
        theirs.write_all(b"{\"v\":1,\"type\":\"err").unwrap();
        drop(theirs);
        let failure = session
            .ask(&super::Request::Reload {
                path: "/x".repeat(20_000).into(),
                argv0: None,
                args: None,
                listeners: None,
                dir: None,
                dir_id: None,
            })
            .unwrap_err();
        assert!(!failure.sent, "{}", failure.message);
        assert!(failure.message.contains("cut short"), "{}", failure.message);
    }

    #[test]
    fn a_folder_that_fails_the_checks_is_not_knocked_at() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("lb-knock-{}", std::process::id()));
        let open = base.join("open");
        std::fs::create_dir_all(&open).unwrap();
        // Anyone's to write in, as another user's folder in /tmp may be.
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let listener = std::os::unix::net::UnixListener::bind(open.join("svc.sock")).unwrap();
        listener.set_nonblocking(true).unwrap();
        assert_eq!(super::answering_in("svc", vec![open.clone()]), None);
        let knocked = listener.accept();
        std::fs::remove_dir_all(&base).unwrap();
        assert!(
            knocked.is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
            "knocked at a folder anyone can write in"
        );
    }

    #[test]
    fn a_reloads_arguments_are_kept_emptied_or_replaced_whole() {
        let args = |words: &[&str]| -> Vec<std::ffi::OsString> {
            words.iter().map(std::ffi::OsString::from).collect()
        };
        // None given: the serving child's are kept.
        assert_eq!(super::reload_args(args(&[])), None);
        // `--` alone: none.
        assert_eq!(super::reload_args(args(&["--"])), Some(Vec::new()));
        // `--` before others is passed on with them, as `start` passes it.
        assert_eq!(
            super::reload_args(args(&["--", "--db=x"])),
            Some(args(&["--", "--db=x"]))
        );
        assert_eq!(
            super::reload_args(args(&["-v", "--"])),
            Some(args(&["-v", "--"]))
        );
    }

    #[test]
    fn json_is_printed_with_its_keys_in_alphabetical_order() {
        // In the order a supervisor might send them; the tests build
        // serde_json with `preserve_order`, which keeps that order.
        let sent: serde_json::Value = serde_json::from_str(
            r#"{"name":"b","listeners":[{"spec":"s","name":"a"}],"child":{"pid":1,"binary":"x"}}"#,
        )
        .unwrap();
        assert_eq!(
            super::keys_sorted(sent).to_string(),
            r#"{"child":{"binary":"x","pid":1},"listeners":[{"name":"a","spec":"s"}],"name":"b"}"#
        );
    }

    #[test]
    fn an_answer_coming_in_pieces_cannot_stretch_the_deadline() {
        use std::io::{BufRead, Write};
        use std::time::{Duration, Instant};
        let (ours, mut theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        // A supervisor that sends a byte every 100 ms for a second, and
        // never ends the line.
        let sender = std::thread::spawn(move || {
            for _ in 0..10 {
                std::thread::sleep(Duration::from_millis(100));
                if theirs.write_all(b"x").is_err() {
                    return;
                }
            }
        });
        let deadline = Some(Instant::now() + Duration::from_millis(300));
        let mut reader = std::io::BufReader::new(super::ByDeadline {
            stream: ours,
            deadline,
        });
        let mut line = Vec::new();
        let read = reader.read_until(b'\n', &mut line);
        // Each piece came within the time left: without the deadline kept
        // read by read, the whole line (to the sender's end) came back.
        assert_eq!(
            read.map_err(|e| e.kind()),
            Err(std::io::ErrorKind::WouldBlock),
            "{line:?}"
        );
        drop(reader);
        sender.join().unwrap();
    }

    #[test]
    fn a_change_with_a_newline_stays_under_its_own_line() {
        assert_eq!(
            super::change_line("listener `web` moves to tcp 127.0.0.1:81"),
            "  listener `web` moves to tcp 127.0.0.1:81"
        );
        // A path holding a newline and a forged change: the rest of it
        // deeper than any change, escapes escaped.
        assert_eq!(
            super::change_line("unix /srv/a\nlistener `x` dropped\u{1b}[2J"),
            "  unix /srv/a\n    listener `x` dropped\\x1b[2J"
        );
    }

    #[test]
    fn json_for_a_terminal_escapes_what_would_act_on_it_and_means_the_same() {
        let value = serde_json::json!({
            "path": "/srv/a\u{9b}2J\u{202e}txt.exe\u{7f}\u{e0041}",
            "args": ["plain é"],
        });
        let json = serde_json::to_string_pretty(&value).unwrap();
        let shown = super::json_for_a_terminal(&json);
        assert!(
            !shown
                .chars()
                .any(|c| crate::log::unprintable(c) && c != '\n' && c != ' '),
            "{shown:?}"
        );
        assert!(
            shown.contains("\\u009b2J\\u202etxt.exe\\u007f\\udb40\\udc41"),
            "{shown}"
        );
        assert!(shown.contains("plain é"), "{shown}");
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn a_misspelt_json_is_named_escaped() {
        // A script with CRLF line ends.
        let args = ["p", "--json\r"].map(std::ffi::OsString::from);
        let failure = super::wants_json(&args).unwrap_err();
        assert_eq!(failure.code, crate::exit::USAGE);
        assert!(
            failure
                .message
                .starts_with("`--json\\r` looks like a misspelt --json"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn a_supervisor_of_another_protocol_version_is_named_with_what_reaches_it() {
        let why = "the supervisor answered in protocol version 2; this command speaks version 1";
        assert_eq!(
            super::other_version(why.to_owned(), Some(42)),
            format!(
                "{why}; it is another littleboss build, which signals still reach: `kill -HUP 42` reloads the binary its child runs (not this one), `kill -TERM 42` stops it"
            )
        );
        assert_eq!(super::other_version(why.to_owned(), None), why);
        let v2 = br#"{"v":2,"type":"error","error":"unsupported protocol version 1"}"#;
        assert!(super::protocol::in_other_version(v2));
        assert!(!super::protocol::in_other_version(
            br#"{"v":1,"type":"error","error":"x"}"#
        ));
    }
}
