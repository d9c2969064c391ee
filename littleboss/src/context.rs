//! `Context`: what the program's `main` receives.

use std::ffi::OsString;
use std::future::Future;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::accepted::{Accepted, Hold};
use crate::lameduck::{Listeners, Phase};
use crate::link::ChildEnd;
use crate::spec::Kind;

/// The program's handle on littleboss: its listeners, the lameduck signal,
/// readiness, and its own command line.
///
/// Cheap to clone; every clone refers to the same state.
///
/// ```no_run
/// #[littleboss::main(name = "svc", listener(http = "tcp:127.0.0.1:0"))]
/// async fn main(ctx: littleboss::Context) {
///     let listener = ctx.tcp("http").expect("http listener enabled");
///     println!("serving on {}", listener.local_addr().unwrap());
///     // A real program accepts here until lameduck (see `TcpListener`):
///     // connections queue on the socket for whoever accepts.
///     ctx.lameduck().await; // a reload, stop or signal asks us to wind down
/// }
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

/// The phase and the timing: not the program's arguments (a password
/// given on the command line would reach the logs of every
/// `#[tracing::instrument]` function taking the `Context`), nor the help.
impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &self.inner;
        // Copied out: the watch's lock is not held while a writer writes.
        let phase = *inner.phase.borrow();
        f.debug_struct("Context")
            .field("phase", &phase)
            .field("lameduck_timeout", &inner.lameduck_timeout)
            .field("grace", &inner.grace)
            .field("supervised", &inner.link.is_some())
            .finish_non_exhaustive()
    }
}

struct Inner {
    listeners: Listeners,
    phase: watch::Receiver<Phase>,
    /// How long after phase one the process may live (the lameduck timeout).
    lameduck_timeout: Duration,
    /// From phase one to phase two.
    grace: Duration,
    /// Where the listeners handed out record their connections.
    accepted: Arc<Accepted>,
    link: Option<Arc<ChildEnd>>,
    args: Vec<OsString>,
    flags_help: String,
}

/// What `Context::new` needs besides the listeners and the link.
#[derive(Debug)]
pub(crate) struct Timing {
    pub phase: watch::Receiver<Phase>,
    pub lameduck_timeout: Duration,
    pub grace: Duration,
    /// From [`Lameduck::accepted`](crate::lameduck::Lameduck::accepted).
    pub accepted: Arc<Accepted>,
}

impl Context {
    pub(crate) fn new(
        listeners: Listeners,
        timing: Timing,
        link: Option<Arc<ChildEnd>>,
        args: Vec<OsString>,
        flags_help: String,
    ) -> Self {
        Context {
            inner: Arc::new(Inner {
                listeners,
                phase: timing.phase,
                lameduck_timeout: timing.lameduck_timeout,
                grace: timing.grace,
                accepted: timing.accepted,
                link,
                args,
                flags_help,
            }),
        }
    }

    /// The TCP listener declared as `name`, or `None` when it is off
    /// (declared as `"tcp:"`, or turned off with `-NAME=`).
    ///
    /// Each call returns a new handle on the same socket. The handle is a
    /// tokio listener (it derefs to one) that stops yielding connections
    /// when draining begins: see [`TcpListener`](crate::TcpListener).
    /// Once draining has begun, a listener taken before gives no new
    /// handle: this returns `None` for it, as for one turned off.
    ///
    /// # Panics
    /// If no listener `name` is declared, if it is not a TCP listener, if
    /// called outside a tokio runtime, or if the process is out of file
    /// descriptors (the handle is a copy of the socket's), saying so. In a
    /// runtime built without IO (a builder without `enable_io` or
    /// `enable_all`), tokio's own panic says so.
    ///
    /// # Exits
    /// With code 1, saying why, if a listener could not be bound when the
    /// program started with littleboss's `help` off and `-h`/`--help` or
    /// `--version`/`-V` asked (the bind error is put off until the listener
    /// is taken).
    ///
    /// ```no_run
    /// # async fn f(ctx: littleboss::Context) {
    /// let listener: littleboss::TcpListener = ctx.tcp("https").expect("https enabled");
    /// # }
    /// ```
    #[must_use = "the listener is marked taken: dropped, what comes to it is taken by no one"]
    pub fn tcp(&self, name: &str) -> Option<crate::TcpListener> {
        let (fd, untake, hold) = self.take(name, Kind::Tcp)?;
        let std = std::net::TcpListener::from(fd);
        std.set_nonblocking(true)
            .expect("set a listener non-blocking");
        let tokio = tokio::net::TcpListener::from_std(std).expect("register a listener with tokio");
        untake.handed_out();
        Some(crate::TcpListener::holding(
            tokio,
            self.inner.phase.clone(),
            self.inner.accepted.clone(),
            hold,
        ))
    }

    /// The UDP socket declared as `name`, or `None` when it is off (or
    /// was taken before draining began: from then on a listener taken
    /// gives no new handle).
    ///
    /// Draining leaves it alone: the old and the new child share the
    /// socket, and each datagram goes to whichever reads first. Stop
    /// reading at [`draining`](Context::draining) to leave them to the
    /// new child.
    ///
    /// # Panics
    /// As [`tcp`](Context::tcp), for a UDP listener.
    ///
    /// # Exits
    /// As [`tcp`](Context::tcp).
    ///
    /// ```no_run
    /// # async fn f(ctx: littleboss::Context) {
    /// let socket: tokio::net::UdpSocket = ctx.udp("dns").expect("dns enabled");
    /// # }
    /// ```
    #[must_use = "the listener is marked taken: dropped, what comes to it is taken by no one"]
    pub fn udp(&self, name: &str) -> Option<tokio::net::UdpSocket> {
        let (fd, untake, _) = self.take(name, Kind::Udp)?;
        let std = std::net::UdpSocket::from(fd);
        std.set_nonblocking(true)
            .expect("set a socket non-blocking");
        let socket = tokio::net::UdpSocket::from_std(std).expect("register a socket with tokio");
        untake.handed_out();
        Some(socket)
    }

    /// The unix-socket listener declared as `name`, or `None` when it is
    /// off (or was taken before draining began, as for
    /// [`tcp`](Context::tcp)): a [`UnixListener`](crate::UnixListener),
    /// which stops yielding connections when draining begins, as
    /// [`tcp`](Context::tcp)'s does.
    ///
    /// # Panics
    /// As [`tcp`](Context::tcp), for a unix listener.
    ///
    /// # Exits
    /// As [`tcp`](Context::tcp).
    ///
    /// ```no_run
    /// # async fn f(ctx: littleboss::Context) {
    /// let listener: littleboss::UnixListener = ctx.unix("api").expect("api enabled");
    /// # }
    /// ```
    #[must_use = "the listener is marked taken: dropped, what comes to it is taken by no one"]
    pub fn unix(&self, name: &str) -> Option<crate::UnixListener> {
        let (fd, untake, hold) = self.take(name, Kind::Unix)?;
        let std = std::os::unix::net::UnixListener::from(fd);
        std.set_nonblocking(true)
            .expect("set a listener non-blocking");
        let tokio =
            tokio::net::UnixListener::from_std(std).expect("register a listener with tokio");
        untake.handed_out();
        Some(crate::UnixListener::holding(
            tokio,
            self.inner.phase.clone(),
            self.inner.accepted.clone(),
            hold,
        ))
    }

    /// A copy of listener `name`'s socket, marked taken; with the guard
    /// that marks it as it was should making the handle on it panic, and
    /// (for a stream socket) the handle's hold on its stash, made under
    /// the lock a refusal takes. A refusal coming between, for a listener
    /// taken again after all its earlier handles were dropped, would find
    /// it taken and unheld, and shut its queue (or, for a handle that then
    /// panicked, keep its queue for no one through the grace).
    fn take<'a>(
        &'a self,
        name: &'a str,
        kind: Kind,
    ) -> Option<(OwnedFd, UntakeOnPanic<'a>, Option<Hold>)> {
        let mut listeners = self
            .inner
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Each mistake said with the lock let go of: a stop signal's drain
        // takes it, and the panic hook (a logger that blocks) must not
        // hold that up.
        let Some(at) = listeners.iter().position(|l| l.name == name) else {
            let declared: Vec<&str> = listeners.iter().map(|l| l.name.as_str()).collect();
            let declared = if declared.is_empty() {
                "none".to_owned()
            } else {
                declared.join(", ")
            };
            drop(listeners);
            panic!("littleboss: no listener named `{name}` is declared (declared: {declared})");
        };
        let listener = &mut listeners[at];
        let actual = listener.network.kind();
        if actual != kind {
            let network = listener.network;
            drop(listeners);
            panic!(
                "littleboss: listener `{name}` is {network}, not {}; use ctx.{}(\"{name}\")",
                kind.method(),
                actual.method()
            );
        }
        if tokio::runtime::Handle::try_current().is_err() {
            drop(listeners);
            panic!(
                "littleboss: ctx.{}(\"{name}\") needs a tokio runtime; call it inside main",
                kind.method()
            );
        }
        if let Some(error) = listener.unbound.clone() {
            // Not holding the lock, which a stop signal's drain takes: a
            // logger that blocks the failure's line must not block that.
            drop(listeners);
            crate::report::fail(1, error);
        }
        let fd = listener.fd.as_ref()?;
        let copy = match fd.try_clone() {
            Ok(copy) => copy,
            Err(e) => {
                drop(listeners);
                panic!("littleboss: cannot take listener `{name}`: {e} (a copy of its socket)")
            }
        };
        // Only once there is a copy to hand out: a take that panicked
        // (out of descriptors) leaves it untaken, for a later try, as one
        // whose handle could not be made does ([`UntakeOnPanic`]).
        let was_taken = std::mem::replace(&mut listener.taken, true);
        let untake = UntakeOnPanic {
            ctx: self,
            name,
            was_taken,
        };
        let hold = match kind {
            Kind::Tcp | Kind::Unix => self.inner.accepted.hold(copy.as_fd()),
            Kind::Udp => None,
        };
        Some((copy, untake, hold))
    }

    /// Completes when this program should wind down: a reload has a new
    /// child ready, a stop was asked for, the supervisor got
    /// SIGTERM/SIGINT (in bypass mode: this process did), the child got
    /// one itself, or the supervisor died. Finish what is in
    /// flight, close idle connections, and return from `main`; a program
    /// still running after the lameduck timeout is killed.
    ///
    /// Lameduck comes in two phases. First the program starts
    /// [draining](Context::draining): its TCP and unix listeners stop yielding
    /// connections (the new child takes them; at a stop, only what was
    /// queued is yielded still). Then, a grace later
    /// ([`grace`](Context::grace): the `grace` attribute, 1 s by default,
    /// at most half the lameduck timeout), this future completes: by then
    /// the connections accepted just before have sent their requests, so a
    /// graceful shutdown that closes idle connections loses none that were
    /// about to speak (a listener with
    /// [`defer_accept`](crate::TcpListener::defer_accept), which the HTTP
    /// helpers turn on, accepts none before it has spoken, until the deferral
    /// ends, SYN cookies aside). It completes sooner once every connection accepted
    /// through the listeners [`tcp`](Context::tcp) and
    /// [`unix`](Context::unix) handed out has closed (looked at every
    /// 20 ms, and at once when an HTTP helper's last one closes): with none open there is nothing to wait for.
    /// (Not before its supervisor's order, within the grace, for a
    /// supervised child drained by its own stop signal: that order may
    /// still come, to hand it connections queued or to refuse, which takes
    /// its queues.) A program that
    /// has taken no TCP or unix listener gets no grace; one that took a
    /// tokio listener out with `into_inner` gets the whole grace, whatever
    /// is open, for its connections cannot be seen. Connections accepted
    /// through the tokio listener a littleboss one derefs to are not
    /// counted at all: lameduck may come at once with them open.
    ///
    /// The future is owned (`'static`), so it can be handed to a server's
    /// graceful shutdown. For HTTP/1 that alone is not the whole drain:
    /// a kept-alive connection closed between two requests races the
    /// client's next one, which fails, unless responses have said
    /// `Connection: close` since [draining](Context::draining) began. For
    /// axum and hyper, `littleboss::http::serve` and `serve_service` (the
    /// `http` feature) do all of it.
    ///
    /// ```no_run
    /// # async fn f(ctx: littleboss::Context) {
    /// ctx.lameduck().await;
    /// # }
    /// ```
    pub fn lameduck(&self) -> impl Future<Output = ()> + Send + 'static {
        self.phase_reached(Phase::is_lameduck)
    }

    /// Whether lameduck has completed (phase two).
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// if ctx.is_lameduck() { /* stop taking new work */ }
    /// # }
    /// ```
    pub fn is_lameduck(&self) -> bool {
        self.inner.phase.borrow().is_lameduck()
    }

    /// Completes when draining begins, phase one of lameduck: the TCP and
    /// unix listeners stop yielding connections (at a stop, but for what
    /// was queued), and a grace later (or
    /// once every connection accepted has closed)
    /// [`lameduck`](Context::lameduck) completes. A hand-written HTTP/1
    /// server answers with `Connection: close` from here on, so that
    /// keep-alive clients move to the new child.
    ///
    /// ```no_run
    /// # async fn f(ctx: littleboss::Context) {
    /// ctx.draining().await;
    /// assert!(ctx.is_draining());
    /// # }
    /// ```
    pub fn draining(&self) -> impl Future<Output = ()> + Send + 'static {
        self.phase_reached(Phase::is_draining)
    }

    /// Whether draining (phase one) has begun; true in phase two too.
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let close = ctx.is_draining(); // answer with `Connection: close`
    /// # }
    /// ```
    pub fn is_draining(&self) -> bool {
        self.inner.phase.borrow().is_draining()
    }

    /// How long draining has lasted (lameduck included); `None` while
    /// serving.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn draining_for(&self) -> Option<Duration> {
        let since = self.inner.phase.borrow().draining_since()?;
        Some(since.elapsed())
    }

    /// How long this process may still run once draining has begun before
    /// it is killed: the `lameduck` timeout.
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let budget = ctx.lameduck_timeout();
    /// # }
    /// ```
    pub fn lameduck_timeout(&self) -> Duration {
        self.inner.lameduck_timeout
    }

    /// The grace from draining to lameduck: the `grace` attribute, at most
    /// half the lameduck timeout. (A program that has taken no TCP or unix listener
    /// goes from draining to lameduck at once.)
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let grace = ctx.grace();
    /// # }
    /// ```
    pub fn grace(&self) -> Duration {
        self.inner.grace
    }

    /// How long the connections still open when [`lameduck`](Context::lameduck)
    /// completes may take: the lameduck timeout less the grace, less a
    /// tenth of the lameduck timeout (at most 250 ms) for `main` to return
    /// and the process to exit before the supervisor's kill.
    ///
    /// ```no_run
    /// # async fn f(ctx: littleboss::Context, mut connections: tokio::task::JoinSet<()>) {
    /// ctx.lameduck().await;
    /// // (`join_next`, not `join_all`, which would panic `main` on one
    /// // handler's panic, cutting the others short.)
    /// let all_done = async { while connections.join_next().await.is_some() {} };
    /// let _ = tokio::time::timeout(ctx.drain_budget(), all_done).await;
    /// # }
    /// ```
    pub fn drain_budget(&self) -> Duration {
        drain_budget(self.inner.lameduck_timeout, self.inner.grace)
    }

    /// The phase's channel, for the crate's own waits on it.
    #[cfg(feature = "http")]
    pub(crate) fn phase(&self) -> watch::Receiver<Phase> {
        self.inner.phase.clone()
    }

    fn phase_reached(
        &self,
        reached: fn(Phase) -> bool,
    ) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.phase.clone();
        async move {
            // A closed channel means the lifecycle thread is gone: wind down too.
            let _ = rx.wait_for(|phase| reached(*phase)).await;
        }
    }

    /// Tells the supervisor this program can take traffic. Only needed with
    /// `ready = "manual"`: otherwise the program counts as ready when `main`
    /// is under way (an async `main` when it first waits on something, a
    /// plain one when it is called; an async `main` that never waits, a
    /// blocking loop in it, is never ready so: it calls this, which works
    /// under automatic readiness too, or is a plain `fn main`). During a
    /// reload the old child serves until this is called (or
    /// the ready timeout fails the reload). Calling it again does nothing
    /// (but try again a send that failed for want of buffers, the first
    /// such failure warned of); once
    /// draining has begun, once `main` has returned, and in bypass mode, it
    /// does nothing.
    ///
    /// ```no_run
    /// #[littleboss::main(name = "svc", ready = "manual")]
    /// async fn main(ctx: littleboss::Context) {
    ///     // warm caches, open database connections...
    ///     ctx.ready();
    ///     ctx.lameduck().await;
    /// }
    /// ```
    pub fn ready(&self) {
        if let Some(link) = &self.inner.link {
            // An error: the supervisor is gone (the lifecycle thread sees
            // that too and starts lameduck), or the send failed for want
            // of buffers, and the next call tries again: said, or the
            // start would fail at its ready timeout with nothing to say why.
            // Once: a program calling it per request would say it per
            // request while buffers are short.
            static WARNED: std::sync::atomic::AtomicBool =
                std::sync::atomic::AtomicBool::new(false);
            if let Err(e) = link.send_ready()
                && let Some(warning) = crate::link::ready_unsent(&e, true)
                && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                crate::report::say(log::Level::Warn, format_args!("{warning}"));
            }
        }
    }

    /// The command line without littleboss's own flags, program name first:
    /// ready for `clap::Parser::parse_from(ctx.args())`. Arguments that are
    /// not valid UTF-8 are converted lossily; see [`args_os`](Context::args_os).
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let args: Vec<String> = ctx.args();
    /// # }
    /// ```
    pub fn args(&self) -> Vec<String> {
        self.inner
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    /// [`args`](Context::args) as they were given, not necessarily UTF-8.
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let args: Vec<std::ffi::OsString> = ctx.args_os();
    /// # }
    /// ```
    pub fn args_os(&self) -> Vec<OsString> {
        self.inner.args.clone()
    }

    /// The help text for littleboss's flags, for a program whose own parser
    /// answers `--help` (with `help = false` in the attribute), for example
    /// as clap's `after_help`.
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let extra = format!("littleboss flags:\n{}", ctx.flags_help());
    /// # }
    /// ```
    pub fn flags_help(&self) -> &str {
        &self.inner.flags_help
    }
}

/// Marks listener `name` taken as it was before, if making the program's
/// handle on a copy [`Context::take`] gave panics (a runtime without IO,
/// out of epoll watches), unless [`handed_out`](UntakeOnPanic::handed_out):
/// a drain would otherwise stash the queue of a listener never handed out
/// for a handle that never was, holding those clients through the whole
/// grace, unserved. (One handed out before stays taken: its handle
/// serves.)
struct UntakeOnPanic<'a> {
    ctx: &'a Context,
    name: &'a str,
    was_taken: bool,
}

impl UntakeOnPanic<'_> {
    /// The handle was made: the listener stays taken.
    fn handed_out(self) {
        std::mem::forget(self);
    }
}

impl Drop for UntakeOnPanic<'_> {
    fn drop(&mut self) {
        let mut listeners = (self.ctx.inner.listeners.lock()).unwrap_or_else(|e| e.into_inner());
        if let Some(listener) = listeners.iter_mut().find(|l| l.name == self.name) {
            listener.taken = self.was_taken;
        }
    }
}

/// See [`Context::drain_budget`].
pub(crate) fn drain_budget(timeout: Duration, grace: Duration) -> Duration {
    let margin = (timeout / 10).min(Duration::from_millis(250));
    timeout.saturating_sub(grace).saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    #[test]
    fn a_listener_whose_handle_cannot_be_made_is_left_untaken() {
        use crate::lameduck::{Listener, Phase};
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listeners = Arc::new(std::sync::Mutex::new(vec![Listener {
            name: "http".into(),
            network: crate::spec::Network::Tcp,
            fd: Some(socket.into()),
            taken: false,
            managers: false,
            served_beside: false,
            unbound: None,
        }]));
        let timing = super::Timing {
            phase: tokio::sync::watch::channel(Phase::Serving).1,
            lameduck_timeout: std::time::Duration::from_secs(2),
            grace: std::time::Duration::from_secs(1),
            accepted: Arc::default(),
        };
        let ctx = super::Context::new(listeners.clone(), timing, None, Vec::new(), String::new());
        // A runtime without IO: tokio cannot register the listener.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let taken = runtime.block_on(async {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.tcp("http")))
        });
        assert!(taken.is_err(), "a runtime without IO registered a listener");
        assert!(!listeners.lock().unwrap()[0].taken);
        // Once a handle is made, it is taken, and stays so however a
        // later take fails: that handle serves.
        let with_io = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let handle = with_io.block_on(async { ctx.tcp("http") });
        assert!(handle.is_some());
        assert!(listeners.lock().unwrap()[0].taken);
        let again = runtime.block_on(async {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.tcp("http")))
        });
        assert!(again.is_err());
        assert!(listeners.lock().unwrap()[0].taken);
    }

    #[test]
    fn debug_shows_no_argument() {
        use crate::lameduck::Phase;
        let timing = super::Timing {
            phase: tokio::sync::watch::channel(Phase::Serving).1,
            lameduck_timeout: std::time::Duration::from_secs(2),
            grace: std::time::Duration::from_secs(1),
            accepted: Arc::default(),
        };
        let args = vec!["svc".into(), "--db-password=hunter2".into()];
        let listeners = Arc::new(std::sync::Mutex::new(Vec::new()));
        let ctx = super::Context::new(listeners, timing, None, args, "FLAGS HELP".into());
        let shown = format!("{ctx:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("FLAGS HELP"),
            "{shown}"
        );
        assert!(shown.starts_with("Context { phase: Serving"), "{shown}");
        // The program reads them still.
        assert_eq!(ctx.args()[1], "--db-password=hunter2");
    }

    #[test]
    fn the_drain_budget_leaves_a_margin_before_the_kill() {
        use super::drain_budget;
        let ms = std::time::Duration::from_millis;
        assert_eq!(drain_budget(ms(2000), ms(1000)), ms(800));
        assert_eq!(drain_budget(ms(10_000), ms(1000)), ms(8750));
        // A short lameduck still leaves time (a fixed 250 ms would not).
        assert_eq!(drain_budget(ms(400), ms(200)), ms(160));
        assert_eq!(drain_budget(ms(0), ms(0)), ms(0));
    }
}
