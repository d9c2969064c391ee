//! The supervisor's state machine: which child serves, which is starting,
//! which are winding down, and what each event does to that.
//!
//! Everything happens on one task, one event at a time, so there are no
//! locks and no races between, say, a stop and a reload: whichever event
//! comes first is handled first, and the other sees its outcome.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;
use tokio::sync::mpsc;

use super::Event;
use super::spawn::{ChildHandle, Launch, spawn};
use crate::builder::Config;
use crate::control::protocol::{Request, Response};
use crate::control::server::ControlRequest;
use crate::control::status::{ChildStatus, ListenerStatus, StartingStatus, Status};
use crate::exit::{code_of, describe};
use crate::link::{FromChild, ListenerEntry};
use crate::log::log;
use crate::notify::Notifier;
use crate::time_fmt::unix_seconds;

/// A new child must say hello on its channel within this time (or its
/// ready timeout, if shorter), or it is not a littleboss program.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// A child promoted by a reload that dies within this time is rolled back
/// to the previous binary (with `fallback`).
pub(crate) const PROBATION: Duration = Duration::from_secs(5);
/// Restart backoff for `persist`: from the first delay, doubling up to the
/// last; reset after a child served this long.
const RESTART_FIRST: Duration = Duration::from_millis(100);
const RESTART_MAX: Duration = Duration::from_secs(30);
const HEALTHY: Duration = Duration::from_secs(10);
/// How long an orphan's zombie may wait to be reaped.
const ORPHAN_SCAN_DELAY: Duration = Duration::from_millis(200);
/// How long one child must serve alone, with nothing happening, before the
/// supervisor hands back memory.
pub(crate) const REST: Duration = Duration::from_secs(1);

type Reply = mpsc::UnboundedSender<Response>;
/// A binary to start, with the `argv[0]` to give it.
type Target = (PathBuf, OsString);

/// The listeners the supervisor holds for its whole life.
#[derive(Debug)]
pub(crate) struct Held {
    pub entries: Vec<ListenerEntry>,
    /// The fds of the bound entries, in order.
    pub fds: Vec<OwnedFd>,
    pub status: Vec<ListenerStatus>,
}

#[derive(Debug)]
pub(crate) struct Supervisor {
    config: Config,
    args: Vec<OsString>,
    held: Held,
    events: mpsc::UnboundedSender<Event>,
    /// The service manager's notify socket, under systemd.
    notifier: Option<Arc<Notifier>>,
    started: SystemTime,
    next_id: u64,
    /// Every child not yet reaped, by id.
    children: HashMap<u64, ChildHandle>,
    /// The child taking traffic.
    serving: Option<u64>,
    /// A child started but not ready yet.
    starting: Option<Starting>,
    /// Reloads that arrived while a child was starting, in order.
    queued: VecDeque<(Option<Target>, Option<Reply>)>,
    /// The binary to restart (persist, SIGHUP): the last one that served,
    /// and the `argv[0]` it was started with.
    current_path: PathBuf,
    current_argv0: OsString,
    /// A rolled-back binary to start if the reload under way fails too.
    fallback_to: Option<Target>,
    reloads: u64,
    failures: u64,
    last_failure: Option<String>,
    last_code: i32,
    probation: Option<Probation>,
    restart_delay: Duration,
    /// When restarts happened, within the restart-limit window.
    restarts: VecDeque<Instant>,
    /// The pending restart (persist) or rollback start.
    restart: Option<Timer>,
    /// The pending scan for orphaned descendants to reap.
    orphan_scan: Option<Timer>,
    /// The pending release of memory, once quiet for `REST`.
    rest: Option<Timer>,
    /// How many times the wait for rest was started: the awaited event
    /// carries the latest number (one sent before its timer was replaced
    /// carries an older one and is ignored).
    rests: u64,
    stopping: Option<Stopping>,
    /// SIGTERM or SIGINT came once: the next one kills.
    signalled: bool,
    /// Set when the supervisor is to exit (the child is gone, no persist).
    exiting: Option<i32>,
}

#[derive(Debug)]
struct Starting {
    id: u64,
    why: Why,
    greeted: bool,
    /// How long it has to become ready, from its hello.
    ready_timeout: Duration,
    /// Why it will not become ready, once known.
    error: Option<String>,
    /// Its hello and ready timers, cancelled when it is promoted or fails.
    timers: Vec<Timer>,
}

/// A pending timer event, cancelled when dropped.
#[derive(Debug)]
#[must_use = "a Timer is cancelled when dropped"]
struct Timer(tokio::task::JoinHandle<()>);

impl Drop for Timer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug)]
enum Why {
    First,
    Reload {
        reply: Option<Reply>,
        argv0: OsString,
    },
    Restart,
    /// Back to a previous binary, with the `argv[0]` it was started with.
    Fallback {
        argv0: OsString,
    },
}

#[derive(Debug)]
struct Probation {
    id: u64,
    until: Instant,
    /// The binary the reload replaced, and its `argv[0]`.
    previous: Target,
}

#[derive(Debug)]
struct Stopping {
    waiters: Vec<Reply>,
    code: i32,
    /// The child whose exit code the stop reports: the one serving when the
    /// stop began (or starting, if none served).
    decides: Option<u64>,
}

impl Supervisor {
    pub fn new(
        config: Config,
        argv0: OsString,
        args: Vec<OsString>,
        held: Held,
        events: mpsc::UnboundedSender<Event>,
        notifier: Option<Arc<Notifier>>,
        first: PathBuf,
    ) -> Self {
        Supervisor {
            config,
            args,
            held,
            events,
            notifier,
            started: SystemTime::now(),
            next_id: 1,
            children: HashMap::new(),
            serving: None,
            starting: None,
            queued: VecDeque::new(),
            current_argv0: argv0.clone(),
            current_path: first,
            fallback_to: None,
            reloads: 0,
            failures: 0,
            last_failure: None,
            last_code: 0,
            probation: None,
            restart_delay: RESTART_FIRST,
            restarts: VecDeque::new(),
            restart: None,
            orphan_scan: None,
            rest: None,
            rests: 0,
            stopping: None,
            signalled: false,
            exiting: None,
        }
    }

    /// Starts the first child and handles events until the supervisor is
    /// done; returns its exit code.
    pub async fn run(
        mut self,
        mut events: mpsc::UnboundedReceiver<Event>,
        mut control: mpsc::UnboundedReceiver<ControlRequest>,
    ) -> i32 {
        self.start(self.current_path.clone(), Why::First).await;
        loop {
            if let Some(code) = self.done() {
                return self.finish(code).await;
            }
            // Whether to start the wait for rest over: not for the rest
            // itself, and not for a status request while a rest is due,
            // so that a monitor polling often does not put it off for ever.
            let restart_rest = tokio::select! {
                Some(event) = events.recv() => {
                    let rested = matches!(event, Event::Rest(_));
                    self.on_event(event).await;
                    !rested
                }
                Some(request) = control.recv() => {
                    let status = matches!(request.request, Request::Status);
                    self.on_control(request).await;
                    !(status && self.rest.is_some())
                }
            };
            // A queued reload that fails at once leaves nothing starting:
            // take the next one straight away.
            while self.starting.is_none()
                && let Some((target, reply)) = self.queued.pop_front()
            {
                self.reload(target, reply).await;
            }
            if restart_rest {
                self.rest_later();
            }
        }
    }

    /// Once one child serves alone and nothing has happened for `REST`,
    /// hands back the memory the last start, reload or request needed (see
    /// `memory`). Any event before then starts the wait over.
    fn rest_later(&mut self) {
        self.rests += 1;
        self.rest = self
            .serving_alone()
            .then(|| self.after(REST, Event::Rest(self.rests)));
    }

    /// One child serves and nothing else is under way.
    fn serving_alone(&self) -> bool {
        self.serving.is_some()
            && self.children.len() == 1
            && self.starting.is_none()
            && self.stopping.is_none()
            && self.exiting.is_none()
    }

    /// The exit code, once stopping or exiting and every child is reaped.
    fn done(&self) -> Option<i32> {
        if !self.children.is_empty() {
            return None;
        }
        self.stopping.as_ref().map(|s| s.code).or(self.exiting)
    }

    /// Tells every `stop` waiter the exit code and gives their connections
    /// a moment to write it before the process exits.
    async fn finish(&mut self, code: i32) -> i32 {
        for (_, queued) in self.queued.drain(..) {
            if let Some(queued) = queued {
                let _ = queued.send(Response::Error {
                    error: format!("the supervisor exited with code {code}"),
                });
            }
        }
        let waiters = self.stopping.take().map(|s| s.waiters).unwrap_or_default();
        for w in &waiters {
            let _ = w.send(Response::Stopped { exit_code: code });
        }
        let written = futures_all(waiters.iter().map(|w| w.closed()));
        let _ = tokio::time::timeout(Duration::from_secs(1), written).await;
        code
    }

    async fn on_event(&mut self, event: Event) {
        match event {
            Event::Message { id, message } => self.on_message(id, message).await,
            Event::Exited { id, status } => self.on_exit(id, status).await,
            Event::Signal(signal) => self.on_signal(signal).await,
            Event::HelloTimeout { id } => {
                if self
                    .starting
                    .as_ref()
                    .is_some_and(|s| s.id == id && !s.greeted)
                {
                    let path = self
                        .children
                        .get(&id)
                        .map(|c| c.path.display().to_string())
                        .unwrap_or_default();
                    let timeout = self.hello_timeout();
                    self.fail_starting(format!(
                        "did not answer on the child channel within {timeout:?}: is {path} a littleboss program?"
                    ));
                }
            }
            Event::ReadyTimeout { id } => {
                if self.starting.as_ref().is_some_and(|s| s.id == id) {
                    let timeout = self
                        .starting
                        .as_ref()
                        .map(|s| s.ready_timeout)
                        .unwrap_or_default();
                    self.fail_starting(format!("was not ready within {timeout:?}"));
                }
            }
            Event::Fallback { path, argv0 } => {
                if self.idle() {
                    self.start(path, Why::Fallback { argv0 }).await;
                }
            }
            Event::Rest(number) => {
                if self.rest.is_some() && number == self.rests {
                    self.rest = None;
                    if self.serving_alone() {
                        super::memory::release();
                    }
                }
            }
            Event::ReapOrphans => {
                self.orphan_scan = None;
                let children = &self.children;
                super::orphans::reap(|pid| children.values().any(|c| c.pid == pid));
            }
            Event::Restart => {
                if self.idle() {
                    self.start(self.current_path.clone(), Why::Restart).await;
                }
            }
        }
    }

    /// Whether a start scheduled earlier (a restart, a rollback) may go
    /// ahead: nothing serves or starts, and no stop or exit is under way.
    fn idle(&self) -> bool {
        self.serving.is_none()
            && self.starting.is_none()
            && self.stopping.is_none()
            && self.exiting.is_none()
    }

    async fn on_control(&mut self, ControlRequest { request, reply }: ControlRequest) {
        match request {
            Request::Status => {
                let _ = reply.send(Response::Status {
                    status: Box::new(self.status()),
                });
            }
            Request::Reload { path, argv0 } => {
                log!("reload requested: {}", path.display());
                let argv0 = argv0.map_or_else(|| path.clone().into_os_string(), OsString::from);
                self.reload(Some((path, argv0)), Some(reply)).await;
            }
            Request::Stop => {
                log!("stop requested");
                self.begin_stop(Some(reply));
            }
        }
    }

    async fn on_signal(&mut self, signal: Signal) {
        match signal {
            // Our own children's exits bring SIGCHLD too, a burst of them
            // during reloads: scan /proc for orphans at most every 200 ms.
            Signal::SIGCHLD if self.orphan_scan.is_none() => {
                self.orphan_scan = Some(self.after(ORPHAN_SCAN_DELAY, Event::ReapOrphans));
            }
            Signal::SIGCHLD => {}
            Signal::SIGHUP => {
                log!("SIGHUP: reloading the serving binary");
                self.reload(None, None).await;
            }
            _ if self.signalled => {
                log!("{signal} again: killing every child now");
                for child in self.children.values() {
                    child.kill();
                }
            }
            _ => {
                self.signalled = true;
                log!("{signal} received: stopping (send it again to kill)");
                self.begin_stop(None);
            }
        }
    }

    async fn on_message(&mut self, id: u64, message: FromChild) {
        let Some(starting) = self.starting.as_mut().filter(|s| s.id == id) else {
            return; // Messages from a serving or winding-down child change nothing.
        };
        match message {
            FromChild::Hello {
                name,
                lameduck_ms,
                ready_timeout_ms,
            } => {
                starting.greeted = true;
                if name != self.config.name {
                    let ours = self.config.name.clone();
                    self.fail_starting(format!(
                        "is a littleboss program for service `{name}`, not `{ours}`"
                    ));
                    return;
                }
                let ready_timeout = Duration::from_millis(ready_timeout_ms);
                starting.ready_timeout = ready_timeout;
                if let Some(child) = self.children.get_mut(&id) {
                    child.lameduck_timeout = Duration::from_millis(lameduck_ms);
                }
                let timer = self.after(ready_timeout, Event::ReadyTimeout { id });
                if let Some(starting) = &mut self.starting {
                    starting.timers.push(timer);
                }
            }
            FromChild::Error { error } => {
                starting.error.get_or_insert(error);
            }
            FromChild::Ready if starting.error.is_none() => self.promote(),
            FromChild::Ready | FromChild::Finished { .. } => {}
        }
    }

    /// The starting child is ready: it takes over, and the one it replaces
    /// is told to wind down.
    fn promote(&mut self) {
        let starting = self.starting.take().expect("promote a starting child");
        let new = &self.children[&starting.id];
        let (pid, path, argv0) = (new.pid, new.path.clone(), new.argv0.clone());
        self.fallback_to = None;
        let old = self
            .serving
            .replace(starting.id)
            .and_then(|id| self.children.get(&id));
        if let Some(old) = old {
            old.lameduck();
        }
        let (old_pid, old_target) = (
            old.map(|o| o.pid),
            old.map(|o| (o.path.clone(), o.argv0.clone())),
        );
        self.probation = None;
        match starting.why {
            Why::Reload { reply, .. } => {
                self.reloads += 1;
                match old_pid {
                    Some(old) => {
                        log!("reload: child pid {pid} is serving; pid {old} is winding down")
                    }
                    None => log!("reload: child pid {pid} is serving"),
                }
                if let Some(reply) = reply {
                    let _ = reply.send(Response::Reloaded { pid, old_pid });
                }
                if let (true, Some(previous)) = (self.config.fallback, old_target) {
                    self.probation = Some(Probation {
                        id: starting.id,
                        until: Instant::now() + PROBATION,
                        previous,
                    });
                }
            }
            Why::First | Why::Restart => log!("child pid {pid} is ready"),
            Why::Fallback { .. } => {
                log!("child pid {pid} from the previous binary is serving again")
            }
        }
        self.current_path = path;
        self.current_argv0 = argv0;
        if let Some(notifier) = &self.notifier {
            notifier.ready();
        }
        self.notify_status();
    }

    /// A one-line summary for `systemctl status`.
    fn notify_status(&self) {
        let Some(notifier) = &self.notifier else {
            return;
        };
        let child = self.serving.and_then(|id| self.children.get(&id));
        let line = match child {
            Some(c) => format!(
                "child pid {}, reloads {}, failures {}",
                c.pid, self.reloads, self.failures
            ),
            None => format!(
                "no child serving, reloads {}, failures {}",
                self.reloads, self.failures
            ),
        };
        notifier.status(&line);
    }

    async fn on_exit(&mut self, id: u64, status: ExitStatus) {
        let Some(child) = self.children.remove(&id) else {
            return;
        };
        let code = code_of(status);
        if self.starting.as_ref().is_some_and(|s| s.id == id) {
            let starting = self.starting.take().expect("checked");
            let reason = starting
                .error
                .unwrap_or_else(|| format!("exited with {} before it was ready", describe(status)));
            let message = format!(
                "new child pid {} ({}) {reason}",
                child.pid,
                child.path.display()
            );
            self.record_stop_code(id, code);
            self.start_failed(starting.why, message, code);
        } else if self.serving == Some(id) {
            self.serving = None;
            self.last_code = code;
            log!("child pid {} exited with {}", child.pid, describe(status));
            if self.stopping.is_some() {
                self.record_stop_code(id, code);
                return;
            }
            let rollback = self
                .probation
                .take()
                .filter(|p| p.id == id && Instant::now() < p.until);
            if let Some(probation) = rollback.filter(|_| self.config.fallback) {
                self.failures += 1;
                let message = format!(
                    "reload to {} rolled back: its child pid {} died ({}) {:.1?} after taking over; restarting {}",
                    child.path.display(),
                    child.pid,
                    describe(status),
                    child.started_at.elapsed(),
                    probation.previous.0.display()
                );
                log!("{message}");
                self.last_failure = Some(message);
                if self.starting.is_some() {
                    // Another reload is under way: its outcome decides, and
                    // if it fails too the previous binary comes back.
                    self.fallback_to = Some(probation.previous);
                } else {
                    let (path, argv0) = probation.previous;
                    self.start(path, Why::Fallback { argv0 }).await;
                }
                return;
            }
            if code != 0 {
                self.failures += 1;
                self.last_failure = Some(format!(
                    "child pid {} exited with {}",
                    child.pid,
                    describe(status)
                ));
            }
            if child.started_at.elapsed() >= HEALTHY {
                self.restart_delay = RESTART_FIRST;
            }
            self.no_child(code);
        } else {
            self.record_stop_code(id, code);
            log!(
                "old child pid {} exited with {}",
                child.pid,
                describe(status)
            );
        }
    }

    /// The exit code of the child a stop reports on.
    fn record_stop_code(&mut self, id: u64, code: i32) {
        if let Some(stopping) = &mut self.stopping
            && stopping.decides == Some(id)
        {
            stopping.code = code;
        }
    }

    /// Reloads to `target`, or (`None`, as SIGHUP asks) to whichever binary
    /// serves when this reload's turn comes.
    async fn reload(&mut self, target: Option<Target>, reply: Option<Reply>) {
        let refuse = |reply: Option<Reply>, error: String| {
            log!("reload refused: {error}");
            if let Some(reply) = reply {
                let _ = reply.send(Response::Error { error });
            }
        };
        if self.stopping.is_some() || self.exiting.is_some() {
            return refuse(reply, "the supervisor is stopping".to_owned());
        }
        if let Some(starting) = &self.starting {
            // Wait for the child starting now: its outcome decides what the
            // reload replaces.
            let pid = self.children.get(&starting.id).map_or(0, |c| c.pid);
            let what = target
                .as_ref()
                .map_or("the serving binary".to_owned(), |(p, _)| {
                    p.display().to_string()
                });
            log!("reload of {what} waits for child pid {pid} to finish starting");
            if let Some(reply) = &reply {
                let _ = reply.send(Response::Waiting { pid });
            }
            self.queued.push_back((target, reply));
            return;
        }
        let (path, argv0) =
            target.unwrap_or_else(|| (self.current_path.clone(), self.current_argv0.clone()));
        if !path.is_absolute() {
            return refuse(
                reply,
                format!("the binary path {} is not absolute", path.display()),
            );
        }
        self.start(path, Why::Reload { reply, argv0 }).await;
    }

    fn begin_stop(&mut self, reply: Option<Reply>) {
        let serving = self.serving.and_then(|id| self.children.get(&id));
        let serving_pid = serving.map(|c| c.pid);
        if let Some(reply) = &reply {
            let _ = reply.send(Response::Stopping { pid: serving_pid });
        }
        if let Some(stopping) = &mut self.stopping {
            stopping.waiters.extend(reply);
            return;
        }
        for (_, queued) in self.queued.drain(..) {
            if let Some(queued) = queued {
                let _ = queued.send(Response::Error {
                    error: "the supervisor is stopping".to_owned(),
                });
            }
        }
        if let Some(child) = serving {
            child.lameduck();
        }
        if let Some(notifier) = &self.notifier {
            notifier.stopping();
        }
        // A child still starting winds down like a serving one; its exit
        // then fails its reload.
        if let Some(starting) = &mut self.starting {
            starting
                .error
                .get_or_insert_with(|| "was stopped: the supervisor is stopping".to_owned());
            if let Some(child) = self.children.get(&starting.id) {
                child.lameduck();
            }
        }
        let decides = self.serving.or(self.starting.as_ref().map(|s| s.id));
        let code = if decides.is_some() { 0 } else { self.last_code };
        self.stopping = Some(Stopping {
            waiters: reply.into_iter().collect(),
            code,
            decides,
        });
    }

    async fn start(&mut self, path: PathBuf, why: Why) {
        debug_assert!(self.starting.is_none(), "one child starts at a time");
        let argv0 = match &why {
            Why::Reload { argv0, .. } => {
                if let Some(notifier) = &self.notifier {
                    notifier.reloading();
                }
                argv0.clone()
            }
            Why::Fallback { argv0 } => argv0.clone(),
            Why::First | Why::Restart => self.current_argv0.clone(),
        };
        let id = self.next_id;
        self.next_id += 1;
        let fds = self
            .held
            .fds
            .iter()
            .map(std::os::fd::AsFd::as_fd)
            .collect::<Vec<_>>();
        let launch = Launch {
            id,
            path: &path,
            argv0: &argv0,
            args: &self.args,
            name: &self.config.name,
            lameduck_timeout: self.config.lameduck,
            listeners: &self.held.entries,
            fds: &fds,
        };
        match spawn(launch, self.events.clone()).await {
            Ok(child) => {
                log!("started child pid {} from {}", child.pid, path.display());
                if let Why::Reload {
                    reply: Some(reply), ..
                } = &why
                {
                    let _ = reply.send(Response::Reloading { pid: child.pid });
                }
                self.children.insert(id, child);
                let ready_timeout = self.config.ready_timeout;
                // The ready timeout starts at hello, with the child's own setting.
                let hello = self.after(self.hello_timeout(), Event::HelloTimeout { id });
                self.starting = Some(Starting {
                    id,
                    why,
                    greeted: false,
                    ready_timeout,
                    error: None,
                    timers: vec![hello],
                });
            }
            Err(e) => self.start_failed(why, format!("cannot start {}: {e}", path.display()), 1),
        }
    }

    /// A child that was to take over did not: count it, say why, and decide
    /// what serves now.
    fn start_failed(&mut self, why: Why, message: String, code: i32) {
        if self.stopping.is_some() {
            if let Why::Reload {
                reply: Some(reply), ..
            } = why
            {
                let _ = reply.send(Response::Error {
                    error: "the supervisor is stopping".to_owned(),
                });
            }
            return;
        }
        self.failures += 1;
        log!("{message}");
        self.last_failure = Some(message.clone());
        match why {
            Why::Reload { reply, .. } => {
                if let Some(reply) = reply {
                    let _ = reply.send(Response::Error { error: message });
                }
                // The reload is over: the old child serves on, untouched.
                if let (Some(notifier), Some(_)) = (&self.notifier, self.serving) {
                    notifier.ready();
                }
                self.notify_status();
                if self.serving.is_none() {
                    self.no_child(code);
                }
            }
            Why::First | Why::Restart | Why::Fallback { .. } => self.no_child(code),
        }
    }

    /// Nothing serves: bring back a rolled-back binary, restart (persist),
    /// or exit with the child's code.
    fn no_child(&mut self, code: i32) {
        if self.stopping.is_some() || self.serving.is_some() || self.starting.is_some() {
            return;
        }
        if let Some((path, argv0)) = self.fallback_to.take() {
            self.restart = Some(self.after(Duration::ZERO, Event::Fallback { path, argv0 }));
            return;
        }
        if !self.config.persist {
            log!("no child is running and persist is off; exiting with code {code}");
            self.exiting = Some(code);
        } else if !self.restart_limit_reached(code) {
            let delay = jitter(self.restart_delay);
            log!("restarting in {delay:.0?}");
            self.restart_delay = (self.restart_delay * 2).min(RESTART_MAX);
            self.restart = Some(self.after(delay, Event::Restart));
        }
    }

    /// Counts a restart; past the limit, gives up: the supervisor exits
    /// non-zero so that a service manager or an operator takes over.
    fn restart_limit_reached(&mut self, code: i32) -> bool {
        let (max, within) = self.config.restart_limit;
        let now = Instant::now();
        self.restarts.push_back(now);
        while self
            .restarts
            .front()
            .is_some_and(|t| now.duration_since(*t) > within)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() <= max as usize {
            return false;
        }
        let code = if code == 0 { 1 } else { code };
        let message = format!(
            "the child had to be restarted more than {max} times within {within:?}; giving up (exit code {code})"
        );
        log!("{message}");
        self.last_failure = Some(message);
        self.exiting = Some(code);
        true
    }

    /// Marks the starting child as failed and kills it; its exit finishes
    /// the failure.
    fn fail_starting(&mut self, reason: String) {
        if let Some(starting) = &mut self.starting {
            starting.error.get_or_insert(reason);
            if let Some(child) = self.children.get(&starting.id) {
                child.kill();
            }
        }
    }

    fn hello_timeout(&self) -> Duration {
        HELLO_TIMEOUT.min(self.config.ready_timeout)
    }

    fn after(&self, delay: Duration, event: Event) -> Timer {
        let events = self.events.clone();
        Timer(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = events.send(event);
        }))
    }

    fn status(&self) -> Status {
        let describe_child = |id: u64| {
            self.children.get(&id).map(|c| ChildStatus {
                pid: c.pid,
                started: unix_seconds(c.started),
                path: c.path.display().to_string(),
                args: self
                    .args
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect(),
            })
        };
        Status {
            name: self.config.name.clone(),
            supervisor_pid: std::process::id(),
            supervisor_started: unix_seconds(self.started),
            child: self.serving.and_then(describe_child),
            starting: self.starting.as_ref().and_then(|s| {
                let why = match s.why {
                    Why::First => "first start",
                    Why::Reload { .. } => "reload",
                    Why::Restart => "restart",
                    Why::Fallback { .. } => "rollback",
                };
                describe_child(s.id).map(|child| StartingStatus {
                    child,
                    why: why.to_owned(),
                })
            }),
            reloads: self.reloads,
            failures: self.failures,
            last_failure: self.last_failure.clone(),
            listeners: self.held.status.clone(),
        }
    }
}

/// `delay` give or take up to 20%, so that services that crash together
/// do not restart in lockstep. The clock's nanoseconds are random enough.
fn jitter(delay: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let permille = 800 + (nanos ^ std::process::id().rotate_left(16)) % 401;
    delay * permille / 1000
}

/// Waits for every future (a tiny `join_all`, to avoid a dependency).
async fn futures_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    for f in futures {
        f.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..1000 {
            let d = jitter(Duration::from_millis(1000));
            assert!((800..=1200).contains(&d.as_millis()), "{d:?}");
        }
    }
}
