//! Test harness: runs the real fixture binaries (in `src/bin/`) as a user
//! would, each test in its own control folder, and waits on what they
//! print, with deadlines rather than fixed sleeps.

pub mod procfs;
// Shared with the library's and the macros' own tests, which cannot
// depend on this crate.
#[path = "../../littleboss/src/skipped.rs"]
mod skipped;
pub use skipped::skipped;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long any single wait in a test may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// How long a control command may take: longer than any stop a test
/// waits out (its lameduck timeout), bounded so a hang fails the test.
pub const CONTROL_DEADLINE: Duration = Duration::from_secs(90);

/// What a service manager sets for what it starts, which littleboss reads:
/// cleared for every process a test starts (see [`command`]).
const SERVICE_MANAGERS_VARIABLES: [&str; 8] = [
    "INVOCATION_ID",
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "LISTEN_PID",
    "LISTEN_PIDFDID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
];

/// Sets `cmd` up as a system service started by systemd: `INVOCATION_ID`
/// set, neither `LITTLEBOSS_DIR` nor `XDG_RUNTIME_DIR`, so that the
/// control folder is the fallback under `tmp` (as `TMPDIR`).
///
/// ```no_run
/// let mut cmd = tests::command("/bin/true");
/// tests::as_a_system_service(&mut cmd, std::path::Path::new("/tmp/test-tmp"));
/// ```
pub fn as_a_system_service(cmd: &mut Command, tmp: &Path) {
    cmd.env_remove("LITTLEBOSS_DIR")
        .env_remove("XDG_RUNTIME_DIR")
        .env("TMPDIR", tmp)
        .env("INVOCATION_ID", "0123456789abcdef");
}

/// A command for `bin` as a test starts one: nothing of a service
/// manager's or littleboss's own from the environment the tests run in,
/// stdin empty, SIGINT and SIGQUIT at their defaults.
///
/// ```no_run
/// let out = tests::command("/bin/true").output().unwrap();
/// assert!(out.status.success());
/// ```
pub fn command(bin: impl AsRef<Path>) -> Command {
    let mut cmd = Command::new(bin.as_ref());
    // Nothing of a service manager's or littleboss's own from whatever
    // started the tests (a systemd unit's `INVOCATION_ID`, a terminal
    // started as a user service): a test that wants one sets it.
    for inherited in SERVICE_MANAGERS_VARIABLES {
        cmd.env_remove(inherited);
    }
    for (key, _) in std::env::vars_os() {
        if key.as_encoded_bytes().starts_with(b"LITTLEBOSS_") {
            cmd.env_remove(key);
        }
    }
    // A service's mark, should the tests run under one: what a command
    // starts is marked by the service that starts it, or by none.
    cmd.env_remove(OWNER_VAR);
    cmd.stdin(Stdio::null());
    // As from a terminal, whatever started the tests: a shell's
    // background job (`cargo test &`, a CI runner's) has SIGINT and
    // SIGQUIT ignored, and `nohup` SIGHUP, which what it starts keeps,
    // and a command started so leaves them ignored (a test's own
    // `pre_exec`, added after this one, may ignore them again).
    // SAFETY: between fork and exec, `signal` is async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            use nix::sys::signal::{SigHandler, Signal, signal};
            for shells_ignore in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGHUP] {
                signal(shells_ignore, SigHandler::SigDfl)?;
            }
            Ok(())
        });
    }
    cmd
}

/// Fills the pipe whose read end is `read_end` through a description of
/// its own, non-blocking, so that the writers' stays blocking: their next
/// write waits for a reader.
pub fn fill_pipe(read_end: &OwnedFd) {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let mut filler = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(format!("/proc/self/fd/{}", read_end.as_raw_fd()))
        .unwrap();
    while filler.write(b".").is_ok() {}
}

/// Output captured from a process, shared with the threads that read it.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    inner: Arc<(Mutex<Capture>, Condvar)>,
}

#[derive(Debug, Default)]
struct Capture {
    text: String,
    /// Pipes not yet at end-of-file.
    open: usize,
}

impl Captured {
    /// Captures what `pipe` says from now on, read on a thread of its own
    /// (a background control command's stderr, taken from its `Child`).
    pub fn attach(&self, pipe: impl Read + Send + 'static) {
        let inner = self.inner.clone();
        inner.0.lock().unwrap().open += 1;
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            let (capture, changed) = &*inner;
            // Bytes, not `read_line`: a line not UTF-8 would end the
            // capture, and the pipe, under the process being tested.
            while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                capture
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .text
                    .push_str(&String::from_utf8_lossy(&line));
                changed.notify_all();
                line.clear();
            }
            capture.lock().unwrap_or_else(|e| e.into_inner()).open -= 1;
            changed.notify_all();
        });
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        self.inner.0.lock().unwrap().text.clone()
    }

    /// Waits until `done(text)` holds; panics with the output at the deadline.
    pub fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        self.wait_state(what, |c| done(&c.text))
    }

    /// Waits until every pipe is at end-of-file: all output is in.
    pub fn wait_closed(&self) -> String {
        self.wait_state("the output to close", |c| c.open == 0)
    }

    fn wait_state(&self, what: &str, done: impl Fn(&Capture) -> bool) -> String {
        let (capture, changed) = &*self.inner;
        let deadline = Instant::now() + DEADLINE;
        let mut guard = capture.lock().unwrap();
        loop {
            if done(&guard) {
                return guard.text.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let text = guard.text.clone();
                drop(guard);
                panic!("timed out waiting for {what}; output so far:\n{text}");
            }
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
    }

    /// Waits until the output contains `needle` `count` times.
    pub fn wait_for_count(&self, needle: &str, count: usize) -> String {
        self.wait_until(&format!("{count} × {needle:?}"), |t| {
            t.matches(needle).count() >= count
        })
    }

    /// Waits until the output contains `needle`.
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_for_count(needle, 1)
    }
}

/// One service under test: a fixture binary and a private control folder.
#[derive(Debug)]
pub struct Service {
    pub bin: PathBuf,
    pub dir: tempfile::TempDir,
    pub supervisor: Option<Child>,
    pub output: Captured,
    /// Another service's control folder, shared (see [`Service::sharing`]).
    shared_control: Option<PathBuf>,
    /// Supervisors a later [`spawn`](Service::spawn) replaced (a start
    /// after a stop, the old one maybe still exiting): killed on drop too.
    earlier: Vec<Child>,
}

impl Service {
    /// A service for the fixture at `bin` (from `env!("CARGO_BIN_EXE_…")`).
    pub fn new(bin: &str) -> Self {
        Service {
            bin: PathBuf::from(bin),
            dir: tempfile::Builder::new()
                .prefix("littleboss-test-")
                .tempdir()
                .unwrap(),
            supervisor: None,
            output: Captured::default(),
            shared_control: None,
            earlier: Vec::new(),
        }
    }

    /// A service for `bin` whose control folder is `dir`, another
    /// service's: two supervisors contending for one folder.
    pub fn sharing(bin: &str, dir: &Path) -> Self {
        let mut service = Service::new(bin);
        service.shared_control = Some(dir.to_owned());
        service
    }

    /// The control folder (`LITTLEBOSS_DIR`): created by littleboss itself,
    /// inside the test's temporary folder.
    pub fn control_dir(&self) -> PathBuf {
        match &self.shared_control {
            Some(dir) => dir.clone(),
            None => self.dir.path().join("control"),
        }
    }

    /// The names of the files left in the control folder (none if it is
    /// gone).
    pub fn left_in_control_dir(&self) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(self.control_dir())
            .map(|files| files.flatten().map(|f| f.file_name()).collect())
            .unwrap_or_default()
    }

    /// The control folder made ahead of littleboss (private, as it would
    /// make it), for a test to put something in it first.
    pub fn make_control_dir(&self) -> PathBuf {
        use std::os::unix::fs::DirBuilderExt;
        let dir = self.control_dir();
        std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        dir
    }

    /// A command for `bin` with this service's control folder (see
    /// [`command`] for what else it sets).
    pub fn command(&self, bin: impl AsRef<Path>) -> Command {
        let mut cmd = command(bin);
        cmd.env("LITTLEBOSS_DIR", self.control_dir())
            .env(OWNER_VAR, self.dir.path());
        cmd
    }

    /// Starts the fixture with `-littleboss=start` and `env`, its stderr
    /// (and its children's) a pipe of one page that the test does not
    /// read, once its child is ready (as `status` says); `full`: filled
    /// before the start. Returns the pipe's read end: [`fill_pipe`] fills
    /// it (a hung log shipper's), and reading it gives what the service
    /// wrote before.
    pub fn start_with_stderr_unread(&mut self, env: &[(&str, &str)], full: bool) -> OwnedFd {
        // Close-on-exec: std dups the write end onto the supervisor's
        // stderr without the flag, and no other child keeps it.
        let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        nix::fcntl::fcntl(&read_end, nix::fcntl::FcntlArg::F_SETPIPE_SZ(4096)).unwrap();
        if full {
            fill_pipe(&read_end);
        }
        let mut cmd = self.command(&self.bin);
        cmd.arg("-littleboss=start")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::from(write_end));
        self.earlier
            .extend(self.supervisor.replace(cmd.spawn().unwrap()));
        eventually("the child to be ready", || {
            let out = self.control("status");
            (out.status.success() && text(&out).contains("child      pid")).then_some(())
        });
        read_end
    }

    /// Runs the fixture with `-littleboss=start` and `args` in the background.
    pub fn start(&mut self, args: &[&str]) -> &mut Self {
        self.start_with_env(args, &[])
    }

    /// [`Service::start`], with the variables `env` set too (a test hook,
    /// a fixture's setting, a service manager's).
    pub fn start_with_env(
        &mut self,
        args: &[&str],
        env: &[(&str, &dyn AsRef<std::ffi::OsStr>)],
    ) -> &mut Self {
        let mut cmd = self.command(&self.bin);
        cmd.arg("-littleboss=start").args(args);
        for (key, value) in env {
            cmd.env(key, value);
        }
        self.spawn(cmd)
    }

    /// Spawns the fixture with `args` as PID 1 of a pid namespace of its
    /// own (`unshare -Urpf --kill-child`; the process under test is
    /// `unshare`, its child the fixture). See [`pid_namespace_or_skip`].
    pub fn spawn_in_pid_namespace(&mut self, args: &[&str]) -> &mut Self {
        let mut cmd = self.command("unshare");
        cmd.args(["-Urpf", "--kill-child"])
            .arg(&self.bin)
            .args(args);
        self.spawn(cmd)
    }

    /// Spawns `cmd` as the process under test, capturing its output.
    pub fn spawn(&mut self, mut cmd: Command) -> &mut Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.output.attach(child.stdout.take().unwrap());
        self.output.attach(child.stderr.take().unwrap());
        self.earlier.extend(self.supervisor.replace(child));
        self
    }

    /// Runs `bin -littleboss=MODE args…` to completion, or panics at
    /// [`CONTROL_DEADLINE`] (a command that hangs fails its test rather
    /// than the whole run).
    pub fn control_with(&self, bin: impl AsRef<Path>, mode: &str, args: &[&str]) -> Output {
        let mut cmd = self.command(bin);
        cmd.arg(format!("-littleboss={mode}")).args(args);
        cmd.output_within(CONTROL_DEADLINE)
    }

    /// Starts `bin -littleboss=MODE` in the background (stderr captured).
    pub fn spawn_control(&self, bin: impl AsRef<Path>, mode: &str) -> KilledOnDrop {
        KilledOnDrop(
            self.command(bin)
                .arg(format!("-littleboss={mode}"))
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    }

    /// Runs this fixture's `-littleboss=MODE` to completion.
    pub fn control(&self, mode: &str) -> Output {
        self.control_with(&self.bin, mode, &[])
    }

    /// Runs `-littleboss=reload`, checks that it succeeded, and returns its
    /// output.
    pub fn reload_ok(&self) -> Output {
        let reload = self.control("reload");
        assert!(
            reload.status.success(),
            "reload: {}\n{}",
            text(&reload),
            self.output.text()
        );
        reload
    }

    /// Runs `-littleboss=stop`, checks that it reports `code` and that the
    /// supervisor exits with it; returns the stop command's output.
    pub fn stop_expecting(&mut self, code: i32) -> Output {
        let stop = self.control("stop");
        assert_eq!(
            stop.status.code(),
            Some(code),
            "stop: {}\n{}",
            text(&stop),
            self.output.text()
        );
        assert_eq!(self.wait_exit().code(), Some(code));
        stop
    }

    /// Waits until the supervisor reports its first child ready: before
    /// that, `status` shows no serving child and a reload waits its turn.
    pub fn ready(&self) -> &Self {
        self.output.wait_until("the first child to be ready", |t| {
            t.lines()
                .any(|l| l.starts_with("littleboss: child pid ") && l.ends_with(" is ready"))
        });
        self
    }

    /// A gate file `name` in the service's folder, made now: what waits on
    /// it (a fixture, a test hook) waits while it exists, and goes on once
    /// the test removes it.
    pub fn gate(&self, name: &str) -> PathBuf {
        let gate = self.dir.path().join(name);
        std::fs::write(&gate, "").unwrap();
        gate
    }

    /// Starts the supervisor with `args` and the variable `var` naming a
    /// gate file (see [`gate`](Service::gate)) that what the fixture does
    /// at that point waits on (`LINGER_GATE`: its children's linger
    /// after their drain, see [`fixture::hold_while_gated`]), for the
    /// test to remove; returns the gate.
    ///
    /// ```ignore
    /// let gate = svc.start_gated("LINGER_GATE", &[&sock, "--linger"]);
    /// // ... look at the draining child ...
    /// std::fs::remove_file(&gate).unwrap();
    /// ```
    pub fn start_gated(&mut self, var: &str, args: &[&str]) -> PathBuf {
        let gate = self.gate(&var.to_ascii_lowercase());
        self.start_with_env(args, &[(var, &gate)]);
        gate
    }

    /// The supervisor's pid.
    pub fn pid(&self) -> i32 {
        self.supervisor.as_ref().expect("started").id() as i32
    }

    /// Sends `signal` to the supervisor.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal).unwrap();
    }

    /// Stops the supervisor with SIGSTOP, as a debugger or a loaded host
    /// would stall it, and waits until every thread of it is stopped:
    /// `kill` returns before a thread running on another CPU has.
    pub fn freeze(&self) {
        self.signal(nix::sys::signal::Signal::SIGSTOP);
        let pid = self.pid() as u32;
        eventually("the supervisor stopped", || {
            procfs::stopped(pid).then_some(())
        });
    }

    /// Sends a deliberate second stop signal with `send`, some 400 ms
    /// after the first stop was said (past the 250 ms in which a copy is
    /// the same stop), and again while the program or its supervisor says
    /// it read it as the same stop: on a machine so loaded that the drain
    /// began long after it was said, a signal read within 50 ms of that
    /// beginning was waiting meanwhile, and is a copy.
    pub fn second_stop(&self, send: impl Fn()) {
        const SAID: &str = " after the first: ";
        for copy in 1..=5 {
            std::thread::sleep(Duration::from_millis(400));
            send();
            let out = self.output.wait_for_count(SAID, copy);
            let (at, _) = out.match_indices(SAID).nth(copy - 1).expect("counted");
            // Any other same stop, so long after the first, is a fault.
            if !out[at + SAID.len()..]
                .starts_with("the same stop (waiting to be read while the drain began")
            {
                return;
            }
        }
        panic!(
            "every second stop signal was read as the same stop: {}",
            self.output.text()
        );
    }

    /// Waits for the program's end, as [`wait_exit`](Self::wait_exit),
    /// and checks it died of `signal` (a program without a supervisor
    /// that littleboss ends at its deadline or a second stop signal).
    pub fn dies_of(&mut self, signal: nix::sys::signal::Signal) {
        let status = self.wait_exit();
        let out = self.output.text();
        assert_eq!(died_of(status), Some(signal), "{status:?}: {out}");
    }

    /// Waits for the supervisor to exit and for all its output (and its
    /// children's) to be captured, with the deadline.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let status = self.wait_supervisor_exit();
        self.output.wait_closed();
        status
    }

    /// Waits for the supervisor process alone to exit, with the deadline:
    /// its orphaned children may still run, and print.
    pub fn wait_supervisor_exit(&mut self) -> ExitStatus {
        let child = self.supervisor.as_mut().expect("started");
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                panic!("supervisor did not exit; output:\n{}", self.output.text());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The pid of the process of a spawn whose exec had not returned, once
    /// the supervisor says it killed it.
    pub fn hung_exec_killed(&self) -> i32 {
        let said = self
            .output
            .wait_for("forked for a child whose exec had not returned");
        said.lines()
            .find_map(|l| {
                l.strip_prefix("littleboss: killed pid ")?
                    .split(',')
                    .next()?
                    .parse()
                    .ok()
            })
            .expect("the pid killed")
    }

    /// The first `addr=HOST:PORT` the service printed.
    pub fn printed_addr(&self, key: &str) -> SocketAddr {
        self.printed(key)
    }

    /// The first `KEY=VALUE` the service printed (up to whitespace), parsed.
    pub fn printed<T: std::str::FromStr>(&self, key: &str) -> T
    where
        T::Err: std::fmt::Display,
    {
        let needle = format!("{key}=");
        let text = self.output.wait_for(&needle);
        let start = text.find(&needle).unwrap() + needle.len();
        let end = text[start..]
            .find(char::is_whitespace)
            .map_or(text.len(), |e| start + e);
        text[start..end]
            .parse()
            .unwrap_or_else(|e| panic!("{key} in {text:?}: {e}"))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        for child in self.supervisor.iter_mut().chain(&mut self.earlier) {
            kill_with_children(child);
        }
        // What outlives them: children of a supervisor the test killed
        // itself (or whose exit it waited out), orphaned; those of one
        // whose log it did not read (its stderr a pipe left unread), or
        // started without this service's control folder; a control
        // command in the background. Each is known by the variable every
        // command of this service's sets, which what they start inherits
        // (pids are reused, by other tests' processes too), and goes with
        // its process group if it leads one (a child does).
        use nix::sys::signal::{Signal, kill, killpg};
        let owner = self.dir.path().to_string_lossy();
        let ours = |pid: u32| {
            procfs::environ_entries(pid)
                .is_some_and(|env| env.contains(&format!("{OWNER_VAR}={owner}").into_bytes()))
        };
        // Stopped first, so that none starts another (a supervisor with
        // `persist`) or exits to leave its pid to another process between
        // the look and the kill; looked at again, once stopped, until a
        // look finds no more (a stranger that took a pid meanwhile goes
        // on).
        let mut stopped = std::collections::BTreeSet::new();
        for _ in 0..10 {
            let found: Vec<u32> = procfs::with_variable(OWNER_VAR, &owner)
                .into_iter()
                .filter(|pid| *pid != std::process::id() && !stopped.contains(pid))
                .filter(|pid| procfs::state(*pid) != Some('Z'))
                .collect();
            if found.is_empty() {
                break;
            }
            for pid in found {
                let process = nix::unistd::Pid::from_raw(pid as i32);
                // A stranger another test stopped on purpose stays so.
                let was_stopped = procfs::state(pid) == Some('T');
                let _ = kill(process, Signal::SIGSTOP);
                if ours(pid) {
                    stopped.insert(pid);
                } else if !was_stopped {
                    let _ = kill(process, Signal::SIGCONT);
                }
            }
        }
        for pid in stopped {
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = killpg(pid, Signal::SIGKILL);
            let _ = kill(pid, Signal::SIGKILL);
        }
    }
}

/// The variable each command of a [`Service`] sets to the service's own
/// folder, which what it starts inherits: the processes left behind when
/// the service is dropped are known by it.
const OWNER_VAR: &str = "TESTS_SERVICE_FOLDER";

/// Kills what a test left running (a failed assertion, say): `process`'s
/// children first, each with its process group (a supervisor's children
/// have their own, and outlive it up to their lameduck timeout), then
/// `process`. Nothing if it has exited.
fn kill_with_children(process: &mut Child) {
    if process.try_wait().ok().flatten().is_some() {
        return;
    }
    // Stopped first: a supervisor with `persist` would start another
    // child as one is killed.
    let pid = nix::unistd::Pid::from_raw(process.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP);
    // A signal is delivered a moment later: stopped (`T`) before its
    // children are looked up, 1 s at most.
    // (Exited meanwhile: a zombie, or gone.)
    let stopped =
        || procfs::state(process.id()).is_none_or(|state| matches!(state, 'T' | 't' | 'Z' | 'X'));
    let until = Instant::now() + Duration::from_secs(1);
    while !stopped() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
    }
    for pid in procfs::live_children(process.id()) {
        let pid = nix::unistd::Pid::from_raw(pid as i32);
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    }
    let _ = process.kill();
    let _ = process.wait();
}

/// A process a test holds itself, killed with its children when dropped
/// (a failed assertion), as a [`Service`]'s supervisor is.
#[derive(Debug)]
pub struct KilledOnDrop(pub Child);

impl KilledOnDrop {
    /// What it prints until it exits (its output piped), or a panic at
    /// [`DEADLINE`], having killed it.
    pub fn output(&mut self) -> Output {
        output_of(&mut self.0, "the process", DEADLINE)
    }

    /// [`Child::wait_with_output`], for a control command: a panic at
    /// [`CONTROL_DEADLINE`], having killed it, rather than a test that
    /// hangs the whole run. Never an `Err` (a `Result` as std's is).
    pub fn wait_with_output(mut self) -> std::io::Result<Output> {
        Ok(output_of(
            &mut self.0,
            "the control command",
            CONTROL_DEADLINE,
        ))
    }

    /// [`Child::wait`], with [`CONTROL_DEADLINE`] as
    /// [`wait_with_output`](Self::wait_with_output) has.
    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let deadline = Instant::now() + CONTROL_DEADLINE;
        loop {
            if let Some(status) = self.0.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                kill_with_children(&mut self.0);
                panic!("the control command still running after {CONTROL_DEADLINE:?}; killed");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Its stderr (piped, as [`Service::spawn_control`] has it), read as
    /// it comes.
    pub fn said(&mut self) -> Captured {
        let said = Captured::default();
        said.attach(self.0.stderr.take().expect("stderr piped"));
        said
    }

    /// Waits for its end (as [`wait`](Self::wait)), checks it exited
    /// with `code`, and returns all it `said` (from [`said`](Self::said)).
    pub fn ended_with(&mut self, said: &Captured, code: i32) -> String {
        let status = self.wait().unwrap();
        let text = said.wait_closed();
        assert_eq!(status.code(), Some(code), "{text}");
        text
    }

    /// [`Child::try_wait`].
    pub fn try_wait(&mut self) -> std::io::Result<Option<std::process::ExitStatus>> {
        self.0.try_wait()
    }

    /// [`Child::kill`].
    pub fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()
    }
}

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        kill_with_children(&mut self.0);
    }
}

/// [`Command::output`] with a deadline: a command that should end by
/// itself (a refused start, a bypass run) but does not is killed, and the
/// test fails with what it printed, rather than hanging.
pub trait OutputInTime {
    /// Runs the command to its end, or panics at [`DEADLINE`].
    fn output_in_time(&mut self) -> Output;

    /// Runs a control command to its end, or panics at
    /// [`CONTROL_DEADLINE`] (a reload or stop may wait out a drain).
    fn control_output_in_time(&mut self) -> Output;

    /// Runs the command to its end, or panics after `limit` with what it
    /// printed so far, having killed it and its children.
    fn output_within(&mut self, limit: Duration) -> Output;
}

impl OutputInTime for Command {
    fn output_in_time(&mut self) -> Output {
        self.output_within(DEADLINE)
    }

    fn control_output_in_time(&mut self) -> Output {
        self.output_within(CONTROL_DEADLINE)
    }

    fn output_within(&mut self, limit: Duration) -> Output {
        let mut child = self
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {self:?}: {e}"));
        output_of(&mut child, &format!("{self:?}"), limit)
    }
}

/// Whether `unshare -Urpf --kill-child` makes a pid namespace (in a user
/// namespace of its own) here; if not, says the calling test is skipped.
pub fn pid_namespace_or_skip() -> bool {
    let made = Command::new("unshare")
        .args(["-Urpf", "--kill-child", "true"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !made {
        skipped("unshare -Urpf --kill-child cannot make a pid namespace here");
    }
    made
}

/// What `child` (spawned with its output piped) prints until it exits, or
/// a panic after `limit` with what it printed so far, having killed it.
fn output_of(child: &mut Child, what: &str, limit: Duration) -> Output {
    // Read as it comes (a full pipe would stall the process), into what a
    // timeout shows (a process it left may hold the pipe open for good);
    // one not piped reads as nothing.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        let read = Arc::new(Mutex::new(Vec::new()));
        let into = read.clone();
        let reader = std::thread::spawn(move || {
            let Some(mut pipe) = pipe else { return };
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => into.lock().unwrap().extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        });
        (reader, read)
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            // Its children too, which may hold the pipes read above.
            kill_with_children(child);
            let so_far = |(_, read): &(_, Arc<Mutex<Vec<u8>>>)| {
                String::from_utf8_lossy(&read.lock().unwrap()).into_owned()
            };
            panic!(
                "{what} still running after {limit:?}; killed. Its output so far:\n{}{}",
                so_far(&stdout),
                so_far(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let all = |(reader, read): (std::thread::JoinHandle<()>, Arc<Mutex<Vec<u8>>>)| {
        reader.join().unwrap();
        std::mem::take(&mut *read.lock().unwrap())
    };
    Output {
        status,
        stdout: all(stdout),
        stderr: all(stderr),
    }
}

/// Output of a finished command as text (stdout then stderr).
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Checks that a command exited with `code` and said `said` (on stdout or
/// stderr).
pub fn exits_saying(output: &Output, code: i32, said: &str) {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
    assert!(text(output).contains(said), "{}", text(output));
}

/// Sends a line to a line-echo server and returns the reply.
pub fn echo(addr: SocketAddr, line: &str) -> std::io::Result<String> {
    let mut conn = TcpStream::connect_timeout(&addr, DEADLINE)?;
    conn.set_read_timeout(Some(DEADLINE))?;
    conn.write_all(format!("{line}\n").as_bytes())?;
    let mut reply = String::new();
    BufReader::new(conn).read_line(&mut reply)?;
    Ok(reply)
}

/// Connects and reads the single line the server writes (the pid servers).
pub fn read_greeting(addr: SocketAddr) -> std::io::Result<String> {
    let mut conn = TcpStream::connect_timeout(&addr, DEADLINE)?;
    conn.set_read_timeout(Some(DEADLINE))?;
    let mut reply = String::new();
    conn.read_to_string(&mut reply)?;
    if reply.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "closed without a reply",
        ));
    }
    Ok(reply)
}

/// A greeting read to its end from the unix socket at `path` (the
/// `unix_server` fixture's `unix PID`), within the deadline.
///
/// ```no_run
/// let greeting = tests::read_unix_greeting("/tmp/srv.sock".as_ref()).unwrap();
/// assert!(greeting.starts_with("unix "));
/// ```
pub fn read_unix_greeting(path: &Path) -> std::io::Result<String> {
    let mut conn = std::os::unix::net::UnixStream::connect(path)?;
    conn.set_read_timeout(Some(DEADLINE))?;
    let mut reply = String::new();
    conn.read_to_string(&mut reply)?;
    Ok(reply)
}

/// Waits, with the deadline, for greetings at `addr` that `wanted` takes,
/// three in a row, and returns the last: right after a reload, the old
/// child (told to drain in the same step as the reload's answer, and
/// reading that a moment later) may take one more connection. Any other
/// answer starts the count again; only the deadline fails it, naming the
/// last greeting read.
pub fn greeting_eventually(addr: SocketAddr, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + DEADLINE;
    let mut in_a_row = 0;
    loop {
        let greeting = read_greeting(addr);
        match &greeting {
            Ok(g) if wanted(g.trim()) => in_a_row += 1,
            _ => in_a_row = 0,
        }
        if let Ok(g) = &greeting
            && in_a_row == 3
        {
            return g.trim().to_owned();
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for the greeting wanted at {addr}; the last read: {greeting:?}"
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until `f` returns `Some`, with the deadline.
pub fn eventually<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    eventually_within(what, DEADLINE, f)
}

/// Removes the folder `dir` as at once, as a supervisor watching it sees
/// it: moved aside in one step, then deleted (`remove_dir_all` in place
/// could meet files a supervisor made again meanwhile).
pub fn remove_folder(dir: &Path) {
    let aside = dir.with_extension("removed");
    std::fs::rename(dir, &aside).unwrap();
    std::fs::remove_dir_all(&aside).unwrap();
}

/// A folder `BASE/app` as a deploy makes it, and a service of `bin`
/// whose control folder is `BASE/app/run`, not started yet: `BASE` goes
/// when the first is dropped.
pub fn under_a_deploys_folder(bin: &str) -> (tempfile::TempDir, PathBuf, Service) {
    let base = tempfile::tempdir().unwrap();
    let app = base.path().join("app");
    std::fs::create_dir(&app).unwrap();
    let svc = Service::sharing(bin, &app.join("run"));
    (base, app, svc)
}

/// Checks that `svc` (looking at its path every 200 ms) waits for `app`,
/// a folder above its control folder that another made, now removed: it
/// says so, makes no `app` over a few looks (which no event tells), and
/// makes its control folder again once `app` is back.
pub fn waits_for_the_folder_above(svc: &Service, app: &Path) {
    svc.output.wait_for(&format!(
        "the folder {} above the control folder is gone",
        app.display()
    ));
    // Three looks' worth, and the loop run after them.
    lets_it_run(svc, Duration::from_millis(600));
    assert!(!app.exists(), "{}", svc.output.text());
    std::fs::create_dir(app).unwrap();
    svc.output.wait_for("was removed; made it again");
}

/// Lets `svc` run for `window`, for a check that something did not happen
/// in it (which no event tells), then waits until its loop has gone to
/// sleep once more: proof that it ran after the window, and so did what
/// was due in it (a loaded machine may not have run it at all). A loop
/// that spins never sleeps: one that has used `window` of CPU time is let
/// be, for the caller's check to find.
pub fn lets_it_run(svc: &Service, window: Duration) {
    let pid = svc.pid() as u32;
    let sleeps = || procfs::main_thread_sleeps(pid).expect("its loop's sleeps");
    let cpu = || procfs::cpu_ms(pid).expect("its CPU time");
    let cpu_before = cpu();
    // The window itself, not a wait for an event: proved run below.
    std::thread::sleep(window);
    let slept = sleeps();
    let spun = cpu_before + window.as_millis() as u64;
    eventually("its loop to run after the window", || {
        (sleeps() > slept || cpu() >= spun).then_some(())
    });
}

/// The pids of the children a supervisor's log `said` it started, in
/// order ("littleboss: started child pid N from ...").
pub fn started_child_pids(said: &str) -> Vec<u32> {
    (said.lines())
        .filter_map(|line| line.strip_prefix("littleboss: started child pid "))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .collect()
}

/// Waits (up to the deadline) until nothing is at `path`.
pub fn wait_gone(path: &Path) {
    eventually(&format!("{} to go", path.display()), || {
        (!path.exists()).then_some(())
    });
}

/// Waits until `f` returns `Some`, for at most `limit`.
pub fn eventually_within<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the process at the other end of `conn` has read everything
/// sent on it (the kernel's count of bytes sent and not yet read, the
/// `TIOCOUTQ` of a unix stream, is down to 0).
pub fn wait_read_by_peer(conn: &std::os::unix::net::UnixStream) {
    use std::os::fd::AsRawFd;
    eventually("the peer to read what was sent", || {
        let mut unread: nix::libc::c_int = -1;
        // SAFETY: TIOCOUTQ writes one int to the pointer, which is valid
        // for the call; `conn` is an open socket for its duration.
        let rc = unsafe { nix::libc::ioctl(conn.as_raw_fd(), nix::libc::TIOCOUTQ, &mut unread) };
        assert_eq!(rc, 0, "TIOCOUTQ: {}", std::io::Error::last_os_error());
        (unread == 0).then_some(())
    });
}

/// Processes a test had its service start (helpers its fixtures spawn,
/// not the service's children) that must not outlive it, whatever it
/// asserts: killed when dropped, each only while it still runs the
/// command line it had when taken (its pid may be another's once gone).
#[derive(Debug)]
pub struct Strays(Vec<(u32, u64, Vec<Vec<u8>>)>);

impl Strays {
    /// Watches `pids`, running now.
    pub fn of(pids: impl IntoIterator<Item = u32>) -> Strays {
        let known = pids
            .into_iter()
            .filter_map(|pid| Some((pid, procfs::started(pid)?, procfs::cmdline(pid)?)))
            .collect();
        Strays(known)
    }

    /// Whether `pid`, one of these, still runs what it ran when taken, as
    /// the same process: one started later (a parallel test's, the same
    /// fixture run the same way) may have been given its pid.
    pub fn runs(&self, pid: u32) -> bool {
        self.0.iter().any(|(p, started, argv)| {
            *p == pid
                && procfs::started(pid) == Some(*started)
                && procfs::cmdline(pid).as_ref() == Some(argv)
        })
    }
}

impl Drop for Strays {
    fn drop(&mut self) {
        for (pid, _, _) in &self.0 {
            if self.runs(*pid) {
                let pid = nix::unistd::Pid::from_raw(*pid as i32);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

/// The signal a process died of, if it died of one (`None` for an exit
/// with a code): a program without a supervisor that littleboss ends at
/// its deadline, or at a second stop signal, dies of that signal.
pub fn died_of(status: std::process::ExitStatus) -> Option<nix::sys::signal::Signal> {
    use std::os::unix::process::ExitStatusExt;
    let signal = status.signal()?;
    nix::sys::signal::Signal::try_from(signal).ok()
}

/// Waits, with the deadline, until `pid` (named `what`) has exited.
pub fn wait_dead(what: &str, pid: i32) {
    eventually(what, || (!alive(pid)).then_some(()));
}

/// Whether a process runs: it exists and has not exited (a zombie, not
/// reaped yet, has).
pub fn alive(pid: i32) -> bool {
    let exists = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    // `/proc/PID/stat`: `PID (COMM) STATE ...`; COMM may hold spaces.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    exists && !matches!(state, Some("Z") | Some("X"))
}

/// Copies the binary `from` to `to`, executable. Written by `cp`, not by
/// this process: a process another test forks while this one holds the
/// file open for writing would inherit that descriptor until its exec,
/// and executing the copy meanwhile fails with "Text file busy".
pub fn copy_binary(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let copied = Command::new("cp").arg(from).arg(to).status().unwrap();
    assert!(copied.success(), "cp {} {}", from.display(), to.display());
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Writes `contents` to `path`, executable, for a test to run. Written
/// by `cp` from a file beside it, not by this process, for the reason
/// [`copy_binary`] gives: executing it would fail with "Text file busy"
/// while another test's fork held this process's descriptor of it.
pub fn write_executable(path: &Path, contents: impl AsRef<[u8]>) {
    let mut source = path.as_os_str().to_owned();
    source.push(".source");
    let source = PathBuf::from(source);
    std::fs::write(&source, contents).unwrap();
    copy_binary(&source, path);
    std::fs::remove_file(&source).unwrap();
}

/// A port nothing listens on just now (on any address: a test may bind
/// it on all of them), in the 12,000 below the kernel's range of
/// ephemeral ports (`ip_local_port_range`, 32768 and up by default): one
/// from that range could be taken, before the test binds it, by an
/// outgoing connection of another test running in parallel.
pub fn free_port() -> u16 {
    use std::sync::atomic::AtomicU32;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_from = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768);
    let below = ephemeral_from.clamp(13_024, 65_535);
    let seed = std::process::id().wrapping_mul(2_654_435_761).wrapping_add(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    );
    for _ in 0..1000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = below - 12_000 + seed.wrapping_add(n.wrapping_mul(7919)) % 12_000;
        let port = u16::try_from(port).expect("below 65536");
        if std::net::TcpListener::bind(("0.0.0.0", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {} and {below}", below - 12_000);
}

/// Code the fixture binaries share.
pub mod fixture {
    use littleboss::TcpListener;
    use std::future::Future;
    use tokio::io::AsyncWriteExt;

    /// A program's logger that blocks for ever on littleboss's lines (a
    /// sink that stopped answering, a lock a stuck thread holds), having
    /// printed each (`LOG LEVEL: message` on stdout) unless `silent`.
    #[derive(Debug)]
    pub struct BlockingLogger {
        /// Blocks without printing the line first.
        pub silent: bool,
    }

    impl log::Log for BlockingLogger {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            if !self.silent {
                println!("LOG {}: {}", record.level(), record.args());
            }
            if record.target() == "littleboss" {
                loop {
                    std::thread::park();
                }
            }
        }
        fn flush(&self) {}
    }

    /// [`BlockingLogger`] installed as the program's (at `Info`): printing
    /// each line first, or not (`silent`).
    pub fn install_blocking_logger(silent: bool) {
        static PRINTING: BlockingLogger = BlockingLogger { silent: false };
        static SILENT: BlockingLogger = BlockingLogger { silent: true };
        log::set_logger(if silent { &SILENT } else { &PRINTING }).unwrap();
        log::set_max_level(log::LevelFilter::Info);
    }

    /// Answers every connection with `greeting` and a newline, then closes
    /// it; when `lameduck` completes, stops accepting and returns once the
    /// connections already accepted are answered.
    pub async fn serve_greetings(
        listener: TcpListener,
        greeting: String,
        lameduck: impl Future<Output = ()>,
    ) {
        tokio::pin!(lameduck);
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut lameduck => {
                    drop(listener);
                    connections.join_all().await;
                    return;
                }
                accepted = listener.accept() => {
                    let Ok((mut conn, _)) = accepted else { continue };
                    let line = format!("{greeting}\n");
                    connections.spawn(async move {
                        let _ = conn.write_all(line.as_bytes()).await;
                    });
                }
            }
        }
    }

    /// A builder program `name` whose `supervisor_init` is `init`, serving
    /// on `addr` (`tcp:127.0.0.1:0`): says `pid=PID addr=ADDR` on stdout,
    /// then answers each connection with what `greeting` gives (asked in
    /// the child) until lameduck.
    ///
    /// ```no_run
    /// // A fixture binary's whole `main`:
    /// tests::fixture::run_after_init("jailed", || {}, || "jailed".to_owned())
    /// ```
    pub fn run_after_init(name: &str, init: fn(), greeting: fn() -> String) -> ! {
        littleboss::Littleboss::new(name)
            .listener("addr", "tcp:127.0.0.1:0")
            .supervisor_init(init)
            .run(move |ctx: littleboss::Context| async move {
                let listener = ctx.tcp("addr").expect("addr listener");
                let addr = listener.local_addr().expect("an address");
                println!("pid={} addr={addr}", std::process::id());
                serve_greetings(listener, greeting(), ctx.lameduck()).await;
            })
    }

    /// A `versioned` fixture's service on its `addr` listener: says
    /// `running version VERSION pid=PID addr=ADDR` on stdout, then answers
    /// each connection with `ANSWER PID` until lameduck (see
    /// [`serve_greetings`]). Returns this process's pid.
    pub async fn serve_version(ctx: &littleboss::Context, version: &str, answer: &str) -> u32 {
        let listener = ctx.tcp("addr").expect("addr listener");
        let pid = std::process::id();
        println!(
            "running version {version} pid={pid} addr={}",
            listener.local_addr().unwrap()
        );
        serve_greetings(listener, format!("{answer} {pid}"), ctx.lameduck()).await;
        pid
    }

    /// Waits while the file the variable `gate` names exists, `most` at
    /// most (within the fixture's lameduck timeout), so that a test on a
    /// loaded machine looks at a fixture's drain for as long as it needs;
    /// without the variable, `otherwise`.
    pub async fn hold_while_gated(
        gate: &str,
        most: std::time::Duration,
        otherwise: std::time::Duration,
    ) {
        let Some(gate) = std::env::var_os(gate) else {
            return tokio::time::sleep(otherwise).await;
        };
        let until = tokio::time::Instant::now() + most;
        while std::path::Path::new(&gate).exists() && tokio::time::Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Echoes a line on each connection `listener` yields, accepting none
    /// while the file `PAUSE_FILE` names exists (saying `accept loop
    /// paused` once), until `ctx`'s lameduck; then finishes the
    /// connections it has, within the drain budget.
    pub async fn serve_paused_echo(ctx: &littleboss::Context, listener: TcpListener) {
        use std::time::Duration;
        let pause = std::env::var_os("PAUSE_FILE").expect("PAUSE_FILE");
        let pause = std::path::Path::new(&pause);
        let lameduck = ctx.lameduck();
        tokio::pin!(lameduck);
        let mut connections = tokio::task::JoinSet::new();
        let mut said = false;
        loop {
            if pause.exists() {
                if !said {
                    println!("accept loop paused");
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            tokio::select! {
                _ = &mut lameduck => break,
                () = tokio::time::sleep(Duration::from_millis(5)) => {}
                accepted = listener.accept() => {
                    let Ok((conn, _)) = accepted else { continue };
                    connections.spawn(echo_line(conn));
                }
            }
        }
        println!("entering lameduck mode");
        let all_done = async { while connections.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(ctx.drain_budget(), all_done).await;
    }

    /// A warm-up a test ends: waits while the file `warm` names exists.
    pub async fn warm_up(warm: &std::ffi::OsStr) {
        while std::path::Path::new(warm).exists() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Reads one line from `conn` and writes it back (Go's echo server).
    pub async fn echo_line(conn: tokio::net::TcpStream) {
        use tokio::io::AsyncBufReadExt;
        let (read, mut write) = conn.into_split();
        let mut line = String::new();
        if tokio::io::BufReader::new(read)
            .read_line(&mut line)
            .await
            .is_ok()
        {
            let _ = write.write_all(line.as_bytes()).await;
        }
    }

    /// Counts calls across processes in a file of the control folder: the
    /// n-th call returns n.
    pub fn bump(counter: &str) -> u32 {
        let dir = std::env::var_os("LITTLEBOSS_DIR").expect("LITTLEBOSS_DIR set by the test");
        std::fs::create_dir_all(&dir).unwrap();
        let path = std::path::Path::new(&dir).join(counter);
        let n = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
            + 1;
        std::fs::write(&path, n.to_string()).unwrap();
        n
    }
}

/// Connects over and over from a thread until stopped; every reply and
/// every error is kept. Dropped unfinished (its test failed), it stops.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    replies: Arc<Mutex<Vec<Result<String, String>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    pub fn start(addr: SocketAddr) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let replies = Arc::new(Mutex::new(Vec::new()));
        let (stop2, replies2) = (stop.clone(), replies.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                let reply = read_greeting(addr).map_err(|e| e.to_string());
                let failed = reply.is_err();
                replies2.lock().unwrap().push(reply);
                if failed {
                    // Nothing listening, say: try again, without spinning.
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        Load {
            stop,
            replies,
            thread: Some(thread),
        }
    }

    pub fn count(&self) -> usize {
        self.replies.lock().unwrap().len()
    }

    /// Whether one of the last `n` replies satisfies `f`.
    pub fn recent(&self, n: usize, f: impl Fn(&Result<String, String>) -> bool) -> bool {
        self.replies.lock().unwrap().iter().rev().take(n).any(f)
    }

    /// Stops the load and returns every reply, in order.
    pub fn finish(mut self) -> Vec<Result<String, String>> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        std::mem::take(&mut *self.replies.lock().unwrap())
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Sends raw bytes to a control socket, half-closes, and returns every line
/// the supervisor answers.
pub fn control_raw(socket: &Path, bytes: &[u8]) -> Vec<String> {
    let mut conn = std::os::unix::net::UnixStream::connect(socket).unwrap();
    conn.set_read_timeout(Some(DEADLINE)).unwrap();
    conn.write_all(bytes).unwrap();
    conn.shutdown(std::net::Shutdown::Write).unwrap();
    BufReader::new(conn).lines().map_while(Result::ok).collect()
}

#[cfg(test)]
mod output_tests {
    use super::OutputInTime;
    use std::time::Duration;

    #[test]
    fn a_command_past_its_deadline_is_killed_and_shows_what_it_printed() {
        // A grandchild holding the pipe open, as a supervisor's child may.
        let mut cmd = std::process::Command::new("sh");
        cmd.args([
            "-c",
            "echo said so far; echo and this >&2; sleep 30 & sleep 30",
        ]);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // Room for a loaded machine to run the two echoes first.
            cmd.output_within(Duration::from_secs(2))
        }));
        let message = *panicked.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.contains("still running after 2s; killed"),
            "{message}"
        );
        assert!(message.contains("said so far\nand this"), "{message}");
    }

    #[test]
    fn a_command_that_ends_gives_all_it_printed() {
        let out = std::process::Command::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .output_within(Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
    }
}
