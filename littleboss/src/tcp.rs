//! `littleboss::TcpListener`: a tokio TCP listener that stops yielding
//! connections when draining begins.

use std::io;
use std::net::SocketAddr;
use std::ops::Deref;
use std::os::fd::AsFd;
use std::sync::Arc;

use tokio::sync::watch;

use crate::accepted::{Accepted, Hold};
use crate::lameduck::Phase;

/// A TCP listener from [`Context::tcp`](crate::Context::tcp): a
/// [`tokio::net::TcpListener`] (it derefs to one) whose
/// [`accept`](TcpListener::accept) stops yielding connections once this
/// program starts draining, phase one of lameduck.
///
/// During a reload the old and the new child share one socket, and so one
/// queue of connections: once the old child stops accepting, the new child
/// takes every connection. Connections accepted before that are the old
/// child's to serve; [`Context::lameduck`](crate::Context::lameduck)
/// completes only after a grace, when they have sent their requests, so a
/// server's graceful shutdown (which closes connections that look idle)
/// closes none that were about to speak; or sooner, once every
/// connection accepted through [`accept`](TcpListener::accept) or
/// [`poll_accept`](TcpListener::poll_accept) has closed. Connections
/// accepted through the tokio listener itself (reached by `Deref`,
/// `as_ref` or [`into_inner`](TcpListener::into_inner)) are not seen, nor
/// is a connection whose descriptor was duplicated and then closed (the
/// copy serving on): lameduck may come while those are open and silent.
/// With [`defer_accept`](TcpListener::defer_accept) (which the HTTP
/// helpers turn on) the kernel holds silent connections back instead, so
/// none is accepted before it speaks (until the deferral ends, SYN cookies
/// aside) and the grace need not cover a slow
/// client's silence.
///
/// For HTTP, `littleboss::http::serve` (the `http` feature) serves an axum
/// router on it and does the whole drain, kept-alive connections
/// included:
///
/// ```no_run
/// # #[cfg(feature = "http")]
/// # async fn f(ctx: littleboss::Context, app: axum::Router) -> std::io::Result<()> {
/// let listener = ctx.tcp("http").expect("http listener enabled");
/// littleboss::http::serve(&ctx, listener, app).await?;
/// # Ok(())
/// # }
/// ```
///
/// With the `axum` feature it implements `axum::serve::Listener`, so
/// `axum::serve` serves it too, and refuses no new connection; but at
/// lameduck hyper closes each kept-alive HTTP/1 connection between two
/// requests, and a client's next request, racing that close, fails.
/// Use the helper above, or add `littleboss::http::CloseWhenDrainingLayer`
/// (the `http` feature) to the router last, which says
/// `Connection: close` while draining, and bound axum's wait for the
/// connections still open, as that layer's example shows:
///
/// ```no_run
/// # #[cfg(feature = "http")]
/// # async fn f(ctx: littleboss::Context, app: axum::Router) -> std::io::Result<()> {
/// let app = app.layer(littleboss::http::CloseWhenDrainingLayer::new(&ctx));
/// let listener = ctx.tcp("http").expect("http listener enabled");
/// let serving = axum::serve(listener, app).with_graceful_shutdown(ctx.lameduck());
/// let bound = async {
///     ctx.lameduck().await;
///     tokio::time::sleep(ctx.drain_budget()).await;
/// };
/// tokio::select! {
///     served = serving => served?,
///     () = bound => {}
/// }
/// # Ok(())
/// # }
/// ```
///
/// For axum's `ConnectInfo<SocketAddr>`, see its `axum::serve::Listener`
/// implementation.
///
/// A hand-written accept loop works the same way (README.md's "Writing a
/// server by hand" says what its connections must do at lameduck):
///
/// ```no_run
/// # async fn f(ctx: littleboss::Context) {
/// use std::time::Duration;
/// let listener = ctx.tcp("http").expect("http listener enabled");
/// let mut connections = tokio::task::JoinSet::new();
/// let lameduck = ctx.lameduck();
/// tokio::pin!(lameduck);
/// loop {
///     tokio::select! {
///         // Yields nothing once draining has begun (but what a stop's
///         // refusal took off the queue).
///         accepted = listener.accept() => match accepted {
///             Ok((stream, _peer)) => {
///                 connections.spawn(async move { drop(stream) /* serve it */ });
///             }
///             // Out of fds, say: wait rather than spin.
///             Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
///         },
///         Some(_) = connections.join_next() => {}
///         // A grace after draining began, or once no connection is open.
///         () = &mut lameduck => break,
///     }
/// }
/// // Returning from `main` ends the process, and the connections' tasks
/// // with it: wait for them, within what the lameduck timeout leaves.
/// // (`join_next`, not `join_all`, which would panic `main` on one
/// // handler's panic, cutting the others short.)
/// let all_done = async { while connections.join_next().await.is_some() {} };
/// let _ = tokio::time::timeout(ctx.drain_budget(), all_done).await;
/// # }
/// ```
pub struct TcpListener {
    inner: tokio::net::TcpListener,
    phase: watch::Receiver<Phase>,
    /// Where the connections accepted are recorded.
    accepted: Arc<Accepted>,
    /// Keeps what a refusal takes off the socket's queue for this handle
    /// (and its siblings) to yield: none is kept once all are dropped.
    _hold: Option<Hold>,
}

/// The socket and whether it drains: not the process's record of every
/// connection accepted and waiting, which it shares with the other
/// listeners (a `#[tracing::instrument]` function taking it would log
/// all of it).
impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("inner", &self.inner)
            .field("draining", &self.is_draining())
            .finish_non_exhaustive()
    }
}

impl TcpListener {
    /// A handle making its own hold, as the tests make them.
    #[cfg(test)]
    pub(crate) fn new(
        inner: tokio::net::TcpListener,
        phase: watch::Receiver<Phase>,
        accepted: Arc<Accepted>,
    ) -> Self {
        let hold = accepted.hold(inner.as_fd());
        Self::holding(inner, phase, accepted, hold)
    }

    /// A handle with `hold` on its socket's stash, made beforehand (as
    /// [`Context`](crate::Context) makes it, under the lock a refusal
    /// takes: one between the take and the handle could find the socket
    /// unheld, its earlier handles all dropped, and shut its queue).
    pub(crate) fn holding(
        inner: tokio::net::TcpListener,
        phase: watch::Receiver<Phase>,
        accepted: Arc<Accepted>,
        hold: Option<Hold>,
    ) -> Self {
        TcpListener {
            _hold: hold,
            inner,
            phase,
            accepted,
        }
    }

    /// Accepts a connection, as [`tokio::net::TcpListener::accept`] does,
    /// until draining begins; from then on it never completes (the
    /// connections go to the next child, or in bypass mode are refused),
    /// but for the connections the kernel had queued when the listener was
    /// shut for good (a stop, bypass mode's SIGTERM, the supervisor's
    /// death, a reload that moved the listener, whose supervisor hands
    /// them over): those, connected
    /// already, are yielded still, until lameduck (with a grace above
    /// zero, and up to a quarter of the process's descriptor limit, at
    /// most 4096, across all its listeners: 256 under the usual soft
    /// limit of 1024, which
    /// `LimitNOFILE=` or `ulimit -n` raises; the rest are reset as
    /// without littleboss; where the listener was shut while
    /// draining had begun already and another child may serve its queue,
    /// an orphan's, that child takes them). A call waiting when
    /// draining begins stays waiting, but for those. Several tasks
    /// may wait on one listener (shared in an `Arc`), each woken as with
    /// tokio's. An error that concerns one connection, not the listener
    /// (its client gave up before it was accepted) is passed over for the
    /// next: an error returned is the listener's (out of descriptors, say),
    /// worth a pause before the next try.
    ///
    /// Cancel safe, as tokio's.
    ///
    /// # Errors
    ///
    /// The listener's own (out of descriptors, say): worth a pause before
    /// the next try. One that concerns a single connection is passed over.
    ///
    /// ```no_run
    /// # async fn f(ctx: littleboss::Context) -> std::io::Result<()> {
    /// let listener = ctx.tcp("http").expect("http listener enabled");
    /// let (stream, peer) = listener.accept().await?;
    /// # Ok(()) }
    /// ```
    pub async fn accept(&self) -> io::Result<(tokio::net::TcpStream, SocketAddr)> {
        crate::lameduck::accept_or_stashed(
            &self.phase,
            &self.accepted,
            self.inner.as_fd(),
            || self.inner.accept(),
            stream_of,
        )
        .await
    }

    /// Polls for a connection, as [`tokio::net::TcpListener::poll_accept`]
    /// does, until draining begins; from then on it stays pending (but for
    /// the connections a refusal took off the queue), as
    /// [`accept`](TcpListener::accept) does. For hand-written accept
    /// adapters (a `Stream`, a hyper acceptor); it shadows the tokio
    /// method that `Deref` would otherwise reach, which knows nothing of
    /// draining. As tokio's, it wakes only the task that polled last:
    /// tasks sharing a listener use [`accept`](TcpListener::accept).
    ///
    /// # Errors
    ///
    /// The listener's own (out of descriptors, say): worth a pause before
    /// the next try. One that concerns a single connection is passed over.
    ///
    /// ```no_run
    /// # async fn f(ctx: littleboss::Context) -> std::io::Result<()> {
    /// let listener = ctx.tcp("http").expect("http listener enabled");
    /// let (stream, peer) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await?;
    /// # Ok(()) }
    /// ```
    pub fn poll_accept(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<(tokio::net::TcpStream, SocketAddr)>> {
        crate::lameduck::poll_accept_or_stashed(
            &self.phase,
            &self.accepted,
            self.inner.as_fd(),
            cx,
            |cx| self.inner.poll_accept(cx),
            stream_of,
        )
    }

    /// Where its connections are recorded (and stashed).
    #[cfg(feature = "http")]
    pub(crate) fn accepted(&self) -> Arc<Accepted> {
        self.accepted.clone()
    }

    /// Whether draining has begun: [`accept`](Self::accept) takes no new
    /// connection from the queue, but still yields, until lameduck, those
    /// taken off it for this child when the listener was let go of for
    /// good (see `accept`); keep accepting until
    /// [`Context::lameduck`](crate::Context::lameduck) completes.
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let listener = ctx.tcp("http").expect("http listener enabled");
    /// if listener.is_draining() {
    ///     // Taken late: keep accepting until lameduck (connections set
    ///     // aside for this child still come), and start nothing long.
    /// }
    /// # }
    /// ```
    pub fn is_draining(&self) -> bool {
        self.phase.borrow().is_draining()
    }

    /// Has the kernel hold each new connection back until its first byte
    /// arrives, or `up_to` has passed (Linux's `TCP_DEFER_ACCEPT`, in
    /// whole seconds, rounded up to its SYN-ACK retransmission schedule:
    /// 1, 3, 7, 15, 31 s...; zero turns it off). A connection still silent
    /// when a child begins draining is then in no child's hands: whichever
    /// child is accepting when the client speaks serves it, so a slow
    /// client needs no grace to cover its silence. Only for protocols in
    /// which the client speaks first (HTTP, TLS): a server that greets
    /// first would not see its clients until `up_to` has passed. The
    /// option is the socket's, shared with the supervisor and every other
    /// child, so it outlives this process (and, on a socket systemd
    /// passed, the service): a reload to a program that does not want it
    /// must set zero. `http::serve` (feature `http`) sets it (30 s)
    /// unless it is set already (systemd's `DeferAcceptSec=`, say).
    ///
    /// What it costs: a deferred connection is in no accept queue, so a
    /// shut of the listening socket (a stop, bypass mode's SIGTERM, the
    /// supervisor's death, a reload that moves the listener) cannot stash
    /// or hand it over, and it is reset when it speaks. And it holds a
    /// half-open place in the listen backlog meanwhile: when those fill it
    /// the kernel falls back to SYN cookies (Linux's default), and a
    /// connection made so is accepted at once, not deferred.
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) -> std::io::Result<()> {
    /// let listener = ctx.tcp("http").expect("http listener enabled");
    /// listener.defer_accept(std::time::Duration::from_secs(30))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The `setsockopt` call's, which on a TCP listener has none to give.
    pub fn defer_accept(&self, up_to: std::time::Duration) -> io::Result<()> {
        use std::os::fd::AsFd;
        crate::defer_accept::defer(self.inner.as_fd(), up_to)
    }

    /// The tokio listener itself, which knows nothing of draining. When
    /// no process will accept after this one (a stop, draining in bypass
    /// mode, or the supervisor's death), its socket is shut (never a
    /// socket the service manager passed, which queues for its next
    /// start), as draining begins or later while it goes on (250 ms
    /// later where a sibling may take its queue first), and `accept` on
    /// it then fails
    /// (`EINVAL`): stop accepting once
    /// [`Context::is_draining`](crate::Context::is_draining) says so, as
    /// this type's own `accept` does. A reload that moves or drops this
    /// listener has the supervisor shut it as the new child takes over,
    /// which may be a moment before this child hears it is to wind down:
    /// take `EINVAL` as the end of accepting too, as this type's `accept`
    /// does (it waits instead). The connections accepted from it cannot be
    /// seen: from then on [`Context::lameduck`](crate::Context::lameduck)
    /// waits out its whole grace, even with none open. Connections set
    /// aside for this listener (taken from its queue as a stop began) are
    /// closed, unserved, should it be called after that, though another
    /// handle on the listener could have served them. The socket is
    /// non-blocking, and stays so: that flag is the socket's, shared with
    /// the supervisor and every other child, so a program that turns it
    /// off (`into_std().set_nonblocking(false)`) has another child's
    /// accept block when it loses a connection to this one.
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let listener: tokio::net::TcpListener = ctx.tcp("http").expect("enabled").into_inner();
    /// # }
    /// ```
    pub fn into_inner(self) -> tokio::net::TcpListener {
        // Connections accepted from here on go unrecorded: the grace can
        // no longer end early. Its queue is the program's own to take.
        self.accepted.bypass(self.inner.as_fd());
        self.inner
    }
}

/// A connection taken off the queue of a shut listener (see
/// [`stash`](crate::stash)), as the listener's own accept gives it.
fn stream_of(fd: std::os::fd::OwnedFd) -> io::Result<(tokio::net::TcpStream, SocketAddr)> {
    let stream = std::net::TcpStream::from(fd);
    let peer = stream.peer_addr()?;
    Ok((tokio::net::TcpStream::from_std(stream)?, peer))
}

/// tokio's listener under it, for what it offers beside accepting
/// (`local_addr`, `ttl`): accepting through it bypasses the drain (such
/// connections are not counted, so lameduck may come with them open).
///
/// ```no_run
/// # fn f(ctx: littleboss::Context) -> std::io::Result<()> {
/// let listener = ctx.tcp("http").expect("http listener enabled");
/// println!("serving on {:?}", listener.local_addr()?);
/// # Ok(())
/// # }
/// ```
impl Deref for TcpListener {
    type Target = tokio::net::TcpListener;

    fn deref(&self) -> &tokio::net::TcpListener {
        &self.inner
    }
}

/// The listening socket, for socket options (`socket2::SockRef`, nix's
/// `getsockopt`); accepting from it directly bypasses the drain.
///
/// ```no_run
/// # fn f(ctx: littleboss::Context) {
/// use std::os::fd::AsFd;
/// let listener = ctx.tcp("http").expect("http listener enabled");
/// let socket = listener.as_fd();
/// # let _ = socket;
/// # }
/// ```
impl std::os::fd::AsFd for TcpListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

/// The listening socket's number; see its `AsFd`.
impl std::os::fd::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.inner.as_raw_fd()
    }
}

/// tokio's listener under it, as its `Deref` gives it (accepting
/// through it bypasses the drain).
///
/// ```no_run
/// # fn f(ctx: littleboss::Context) {
/// let listener = ctx.tcp("http").expect("http listener enabled");
/// let tokio_listener: &tokio::net::TcpListener = listener.as_ref();
/// # let _ = tokio_listener;
/// # }
/// ```
impl AsRef<tokio::net::TcpListener> for TcpListener {
    fn as_ref(&self) -> &tokio::net::TcpListener {
        &self.inner
    }
}

/// `axum::serve` serves it (the `axum` feature). Its `accept` returns no
/// error: a listener's own (out of descriptors) is waited out, 1 s at a
/// time (as axum's own listeners do) or until draining begins. Once draining, it yields no new
/// connection and never ends (axum's listeners cannot), so give
/// `axum::serve` `.with_graceful_shutdown(ctx.lameduck())`: without it
/// the program serves on until the supervisor's kill at its lameduck
/// timeout, cutting off what is under way. axum gives
/// `ConnectInfo<SocketAddr>` only for listener types of its own, so for
/// the peer's address wrap it with axum's `tap_io`. Bare `axum::serve`
/// tells kept-alive connections nothing while draining (see
/// [`TcpListener`]): `littleboss::http::serve`, or the
/// `littleboss::http::CloseWhenDrainingLayer` (the `http` feature) as
/// here, does; bound axum's wait for its connections
/// by [`Context::drain_budget`](crate::Context::drain_budget), as here.
///
/// ```no_run
/// # #[cfg(feature = "http")]
/// # async fn f(ctx: littleboss::Context, app: axum::Router) -> std::io::Result<()> {
/// use axum::serve::ListenerExt;
/// let listener = ctx.tcp("http").expect("http listener enabled").tap_io(|_| ());
/// let app = app.layer(littleboss::http::CloseWhenDrainingLayer::new(&ctx));
/// let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
/// let serving = axum::serve(listener, app).with_graceful_shutdown(ctx.lameduck());
/// // axum waits for every connection: a stream, a stalled client.
/// let bound = async {
///     ctx.lameduck().await;
///     tokio::time::sleep(ctx.drain_budget()).await;
/// };
/// tokio::select! {
///     served = serving => served,
///     () = bound => Ok(()),
/// }
/// # }
/// ```
#[cfg(feature = "axum")]
impl axum::serve::Listener for TcpListener {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        self.accept_past_errors().await
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl TcpListener {
    /// [`accept`](TcpListener::accept) until a connection comes, past
    /// errors, as [`accept_retrying`] says: for axum's `Listener`, and for
    /// [`Incoming`](crate::Incoming), whose servers end on an error.
    #[cfg(any(feature = "axum", feature = "stream"))]
    pub(crate) async fn accept_past_errors(&self) -> (tokio::net::TcpStream, SocketAddr) {
        accept_retrying(self.phase.clone(), || TcpListener::accept(self)).await
    }
}

/// Accepts until a connection comes, as axum does for its own listeners:
/// a listener's error (out of fds) is waited out rather than spun on (a
/// connection's own never comes here: `accept` passes over it), until
/// draining begins (`phase` says): a short grace may end before the pause
/// would, and with it the connections a refusal took off the queue,
/// which `accept` then yields.
#[cfg(any(feature = "axum", feature = "stream"))]
pub(crate) async fn accept_retrying<T, F: Future<Output = io::Result<T>>>(
    mut phase: tokio::sync::watch::Receiver<Phase>,
    mut accept: impl FnMut() -> F,
) -> T {
    loop {
        match accept().await {
            Ok(accepted) => return accepted,
            Err(e) => wait_out_accept_error(&mut phase, &e).await,
        }
    }
}

/// Says accept error `e`, the listener's (out of descriptors), and waits
/// before accepting again: a second, as retrying at once would spin on
/// it, or until draining begins (`phase` says), whichever comes first.
/// One connection's own errors never come here: the listeners' accept
/// passes over them (`lameduck::poll_until_draining`).
#[cfg(any(feature = "axum", feature = "stream"))]
pub(crate) async fn wait_out_accept_error(
    phase: &mut tokio::sync::watch::Receiver<Phase>,
    e: &io::Error,
) {
    debug_assert!(!is_connection_error(e), "{e}");
    // Not waited for: on the serve path, which a logger that blocks must
    // not hold up.
    crate::report::say_detached(log::Level::Warn, format!("accept: {e}"));
    // A phase whose sender is gone (none is, while the process lives)
    // waits out the pause, not spins.
    tokio::select! {
        biased;
        Ok(_) = phase.wait_for(|p| p.is_draining()) => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
    }
}

/// An accept error that concerns one connection (the peer gave up before
/// it was accepted), not the listener: skip it and accept the next. Linux
/// also passes on a new connection's pending network error from accept,
/// to be retried at once as accept(2) says (not waited out: during a
/// reload the new child may be the only one accepting). Not its
/// `EOPNOTSUPP`, which also means the listener is no stream socket: that
/// never clears, and retried at once would spin.
pub(crate) fn is_connection_error(e: &io::Error) -> bool {
    use nix::libc;
    let network = [
        libc::ENETDOWN,
        libc::EPROTO,
        libc::ENOPROTOOPT,
        libc::EHOSTDOWN,
        libc::ENONET,
        libc::EHOSTUNREACH,
        libc::ENETUNREACH,
    ];
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) || e.raw_os_error().is_some_and(|code| network.contains(&code))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::watch;

    use std::sync::Arc;

    use super::TcpListener;
    use crate::accepted::Accepted;
    use crate::lameduck::Phase;

    #[test]
    fn a_connections_own_error_is_retried_and_the_listeners_is_not() {
        use super::is_connection_error;
        use nix::libc;
        let os = std::io::Error::from_raw_os_error;
        for code in [
            libc::ECONNABORTED,
            libc::EPROTO,
            libc::ENETUNREACH,
            libc::EHOSTUNREACH,
        ] {
            assert!(is_connection_error(&os(code)), "{}", os(code));
        }
        for code in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOBUFS,
            libc::EINVAL,
            libc::EOPNOTSUPP,
        ] {
            assert!(!is_connection_error(&os(code)), "{}", os(code));
        }
    }

    #[cfg(any(feature = "axum", feature = "stream"))]
    #[tokio::test(start_paused = true)]
    async fn the_pause_after_an_accept_error_ends_when_draining_begins() {
        // Out of descriptors, then draining: the connection a refusal took
        // off the queue is yielded at once, not after the second's pause,
        // by which a short grace may have closed it.
        let (phase, rx) = watch::channel(Phase::Serving);
        let began = tokio::time::Instant::now();
        let tries = std::cell::Cell::new(0);
        let accepting = super::accept_retrying(rx, || {
            tries.set(tries.get() + 1);
            let draining = phase.borrow().is_draining();
            std::future::ready(match draining {
                false => Err(std::io::Error::from_raw_os_error(nix::libc::EMFILE)),
                true => Ok("stashed"),
            })
        });
        let drain = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            phase.send_replace(Phase::Draining(std::time::Instant::now()));
            std::future::pending::<()>().await
        };
        let got = tokio::select! {
            got = accepting => got,
            () = drain => unreachable!(),
        };
        assert_eq!(got, "stashed");
        assert_eq!(tries.get(), 2);
        assert_eq!(began.elapsed(), Duration::from_millis(100));
    }

    #[cfg(any(feature = "axum", feature = "stream"))]
    #[tokio::test(start_paused = true)]
    async fn the_pause_after_an_accept_error_holds_without_a_phase_sender() {
        let (phase, rx) = watch::channel(Phase::Serving);
        drop(phase);
        let tries = std::cell::Cell::new(0);
        let accepting = super::accept_retrying(rx, || {
            tries.set(tries.get() + 1);
            // Spun, it would never give the timeout a turn: failed here.
            assert!(tries.get() < 10, "accepts spun");
            std::future::ready(Err::<(), _>(std::io::Error::from_raw_os_error(
                nix::libc::EMFILE,
            )))
        });
        let waited = tokio::time::timeout(Duration::from_millis(2500), accepting).await;
        assert!(waited.is_err());
        // At 0 s, 1 s and 2 s: a second apart, not spun.
        assert_eq!(tries.get(), 3);
    }

    #[tokio::test]
    async fn debug_shows_the_socket_and_the_phase_not_the_connections_recorded() {
        let (phase, rx) = watch::channel(Phase::Serving);
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let listener = TcpListener::new(inner, rx, Default::default());
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _served = listener.accept().await.unwrap();
        phase.send_replace(Phase::Draining(std::time::Instant::now()));
        let shown = format!("{listener:?}");
        assert!(shown.starts_with("TcpListener { inner: "), "{shown}");
        assert!(shown.contains(&addr.to_string()), "{shown}");
        assert!(shown.contains("draining: true"), "{shown}");
        assert!(!shown.contains("accepted"), "{shown}");
    }

    #[tokio::test]
    async fn accept_yields_until_draining_then_leaves_connections_queued() {
        let (phase, rx) = watch::channel(Phase::Serving);
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let listener = TcpListener::new(inner, rx, Default::default());

        let _first = tokio::net::TcpStream::connect(addr).await.unwrap();
        listener.accept().await.unwrap();
        assert!(!listener.is_draining());

        // An accept already waiting when draining begins stops too.
        let waiting = listener.accept();
        tokio::pin!(waiting);
        assert!(futures_poll_once(&mut waiting).await.is_none());
        phase.send_replace(Phase::Draining(std::time::Instant::now()));
        let second = tokio::net::TcpStream::connect(addr).await.unwrap();
        let stalled = tokio::time::timeout(Duration::from_millis(100), &mut waiting).await;
        assert!(stalled.is_err(), "accepted while draining");
        assert!(listener.is_draining());
        let fresh = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(fresh.is_err(), "accepted while draining");

        // The connection stays in the shared queue, for the next child.
        let (_, peer) = listener.inner.accept().await.unwrap();
        assert_eq!(peer, second.local_addr().unwrap());
    }

    #[tokio::test]
    async fn it_lends_its_socket_for_options() {
        let (_phase, rx) = watch::channel(Phase::Serving);
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let raw = std::os::fd::AsRawFd::as_raw_fd(&inner);
        let listener = TcpListener::new(inner, rx, Default::default());
        // As socket2's `SockRef::from` and nix's `setsockopt` take it.
        fn takes(fd: &impl std::os::fd::AsFd) -> std::os::fd::RawFd {
            std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd())
        }
        assert_eq!(takes(&listener), raw);
        let reuse = nix::sys::socket::getsockopt(&listener, nix::sys::socket::sockopt::ReuseAddr);
        assert!(reuse.is_ok(), "{reuse:?}");
    }

    #[tokio::test]
    async fn every_task_waiting_to_accept_is_woken_not_only_the_last() {
        let (_phase, rx) = watch::channel(Phase::Serving);
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let listener = Arc::new(TcpListener::new(inner, rx, Default::default()));
        let task =
            |listener: Arc<TcpListener>| tokio::spawn(async move { listener.accept().await });
        let first = task(listener.clone());
        tokio::task::yield_now().await;
        // The last to wait gives up (a timeout, a panic): the first still
        // hears of the connection.
        let last = task(listener.clone());
        tokio::task::yield_now().await;
        last.abort();
        let _ = last.await;
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let accepted = tokio::time::timeout(Duration::from_secs(5), first).await;
        let (_, peer) = accepted
            .expect("the first task was never woken")
            .unwrap()
            .unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
    }

    #[tokio::test]
    async fn poll_accept_yields_until_draining_then_leaves_connections_queued() {
        let (phase, rx) = watch::channel(Phase::Serving);
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let listener = TcpListener::new(inner, rx, Default::default());
        let poll_accept = || std::future::poll_fn(|cx| listener.poll_accept(cx));

        let first = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (_, peer) = poll_accept().await.unwrap();
        assert_eq!(peer, first.local_addr().unwrap());

        phase.send_replace(Phase::Draining(std::time::Instant::now()));
        let second = tokio::net::TcpStream::connect(addr).await.unwrap();
        let stalled = tokio::time::timeout(Duration::from_millis(100), poll_accept()).await;
        assert!(stalled.is_err(), "accepted while draining");
        let (_, peer) = listener.inner.accept().await.unwrap();
        assert_eq!(peer, second.local_addr().unwrap());
    }

    /// A serving listener on a port of its own, recording in a new
    /// `Accepted`.
    async fn recording() -> (TcpListener, std::net::SocketAddr, Arc<Accepted>) {
        let (_phase, rx) = watch::channel(Phase::Serving);
        let accepted = Arc::new(Accepted::default());
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        (
            TcpListener::new(inner, rx, accepted.clone()),
            addr,
            accepted,
        )
    }

    #[tokio::test]
    async fn the_connections_accepted_are_recorded_until_they_close() {
        let (listener, addr, accepted) = recording().await;
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (by_accept, _) = listener.accept().await.unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (by_poll, _) = std::future::poll_fn(|cx| listener.poll_accept(cx))
            .await
            .unwrap();
        assert!(!accepted.all_closed());
        drop(by_accept);
        assert!(!accepted.all_closed());
        drop(by_poll);
        assert!(accepted.all_closed());
        // Taken out, the listener accepts where nothing is recorded.
        drop(listener.into_inner());
        assert!(!accepted.all_closed());
    }

    /// Draining as `Accepted` knows it (set before the phase is sent)
    /// stops accepts too: the order the grace relies on.
    #[tokio::test]
    async fn no_connection_is_taken_once_accepted_says_draining() {
        let (listener, addr, accepted) = recording().await;
        accepted.stop_accepting();
        // Connected: in the kernel's queue, ready for an accept.
        let queued = tokio::net::TcpStream::connect(addr).await.unwrap();
        let accept = listener.accept();
        tokio::pin!(accept);
        assert!(
            futures_poll_once(&mut accept).await.is_none(),
            "accepted while draining"
        );
        assert!(accepted.all_closed());
        let (_, peer) = listener.inner.accept().await.unwrap();
        assert_eq!(peer, queued.local_addr().unwrap());
    }

    /// Polls a future once: `Some` if it completed.
    async fn futures_poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut *f).poll(cx) {
                std::task::Poll::Ready(out) => Some(out),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
