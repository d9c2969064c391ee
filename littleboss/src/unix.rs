//! `littleboss::UnixListener`: a tokio unix-socket listener that stops
//! yielding connections when draining begins, as
//! [`TcpListener`](crate::TcpListener) does.

use std::io;
use std::ops::Deref;
use std::os::fd::AsFd;
use std::sync::Arc;

use tokio::net::UnixStream;
use tokio::net::unix::SocketAddr;
use tokio::sync::watch;

use crate::accepted::{Accepted, Hold};
use crate::lameduck::Phase;

/// A unix-socket listener from [`Context::unix`](crate::Context::unix): a
/// [`tokio::net::UnixListener`] (it derefs to one) whose
/// [`accept`](UnixListener::accept) stops yielding connections once this
/// program starts draining, so that during a reload the new child takes
/// every connection from the shared queue and the old one serves only
/// those it accepted. See [`TcpListener`](crate::TcpListener), also for
/// the connections the grace waits for: those accepted through this
/// type's `accept` and `poll_accept`.
///
/// ```no_run
/// # async fn f(ctx: littleboss::Context) {
/// use std::time::Duration;
/// let listener = ctx.unix("api").expect("api listener enabled");
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
pub struct UnixListener {
    inner: tokio::net::UnixListener,
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
impl std::fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixListener")
            .field("inner", &self.inner)
            .field("draining", &self.is_draining())
            .finish_non_exhaustive()
    }
}

impl UnixListener {
    /// A handle making its own hold, as the tests make them.
    #[cfg(test)]
    pub(crate) fn new(
        inner: tokio::net::UnixListener,
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
        inner: tokio::net::UnixListener,
        phase: watch::Receiver<Phase>,
        accepted: Arc<Accepted>,
        hold: Option<Hold>,
    ) -> Self {
        UnixListener {
            _hold: hold,
            inner,
            phase,
            accepted,
        }
    }

    /// Accepts a connection, as [`tokio::net::UnixListener::accept`] does,
    /// until draining begins; from then on it never completes, but for
    /// the connections queued when its file was removed for good (a stop,
    /// bypass mode's SIGTERM, the supervisor's death, a reload that moved
    /// the listener), which are yielded still, as
    /// [`TcpListener::accept`](crate::TcpListener::accept) says. Cancel safe;
    /// several tasks may wait on one listener, each woken as with tokio's.
    /// An error that concerns one connection is passed over for the next,
    /// as [`TcpListener::accept`](crate::TcpListener::accept) says.
    ///
    /// # Errors
    ///
    /// The listener's own (out of descriptors, say): worth a pause before
    /// the next try. One that concerns a single connection is passed over.
    ///
    /// ```no_run
    /// # async fn f(ctx: littleboss::Context) -> std::io::Result<()> {
    /// let listener = ctx.unix("api").expect("api listener enabled");
    /// let (stream, peer) = listener.accept().await?;
    /// # Ok(()) }
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        crate::lameduck::accept_or_stashed(
            &self.phase,
            &self.accepted,
            self.inner.as_fd(),
            || self.inner.accept(),
            stream_of,
        )
        .await
    }

    /// Polls for a connection, as [`tokio::net::UnixListener::poll_accept`]
    /// does, until draining begins; from then on it stays pending (but for
    /// the connections queued when a refusal removed its file), as
    /// [`accept`](UnixListener::accept) does. It shadows the tokio method
    /// that `Deref` would otherwise reach, which knows nothing of draining.
    /// As tokio's, it wakes only the task that polled last: tasks sharing a
    /// listener use [`accept`](UnixListener::accept).
    ///
    /// # Errors
    ///
    /// The listener's own (out of descriptors, say): worth a pause before
    /// the next try. One that concerns a single connection is passed over.
    ///
    /// ```no_run
    /// # async fn f(ctx: littleboss::Context) -> std::io::Result<()> {
    /// let listener = ctx.unix("api").expect("api listener enabled");
    /// let (stream, peer) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await?;
    /// # Ok(()) }
    /// ```
    pub fn poll_accept(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<(UnixStream, SocketAddr)>> {
        crate::lameduck::poll_accept_or_stashed(
            &self.phase,
            &self.accepted,
            self.inner.as_fd(),
            cx,
            |cx| self.inner.poll_accept(cx),
            stream_of,
        )
    }

    /// Whether draining has begun: [`accept`](Self::accept) takes no new
    /// connection from the queue, but still yields, until lameduck, those
    /// taken off it for this child when the listener was let go of for
    /// good (see `accept`); keep accepting until
    /// [`Context::lameduck`](crate::Context::lameduck) completes.
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let listener = ctx.unix("api").expect("api listener enabled");
    /// if listener.is_draining() {
    ///     // Taken late: keep accepting until lameduck (connections set
    ///     // aside for this child still come), and start nothing long.
    /// }
    /// # }
    /// ```
    pub fn is_draining(&self) -> bool {
        self.phase.borrow().is_draining()
    }

    /// The tokio listener itself, which knows nothing of draining: it
    /// goes on taking connections from the queue this child shares with
    /// the next one after draining has begun, so stop accepting once
    /// [`Context::is_draining`](crate::Context::is_draining) says so. The
    /// connections accepted from it cannot be seen: from then on
    /// [`Context::lameduck`](crate::Context::lameduck) waits out its whole
    /// grace, even with none open; connections set aside for it as a stop
    /// began are closed, unserved. The socket is non-blocking, and stays
    /// so: that flag is the socket's, shared with the supervisor and
    /// every other child (see [`TcpListener::into_inner`](crate::TcpListener::into_inner)).
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let listener: tokio::net::UnixListener = ctx.unix("api").expect("enabled").into_inner();
    /// # }
    /// ```
    pub fn into_inner(self) -> tokio::net::UnixListener {
        // Connections accepted from here on go unrecorded: the grace can
        // no longer end early. Its queue is the program's own to take.
        self.accepted.bypass(self.inner.as_fd());
        self.inner
    }
}

/// A connection taken off the queue of a listener whose file went at a
/// refusal (see [`stash`](crate::stash)), as the listener's accept gives it.
fn stream_of(fd: std::os::fd::OwnedFd) -> io::Result<(UnixStream, SocketAddr)> {
    let stream = UnixStream::from_std(std::os::unix::net::UnixStream::from(fd))?;
    let peer = stream.peer_addr()?;
    Ok((stream, peer))
}

/// tokio's listener under it, for what it offers beside accepting
/// (`local_addr`, `take_error`): accepting through it bypasses the drain (such
/// connections are not counted, so lameduck may come with them open).
///
/// ```no_run
/// # fn f(ctx: littleboss::Context) -> std::io::Result<()> {
/// let listener = ctx.unix("api").expect("api listener enabled");
/// println!("serving on {:?}", listener.local_addr()?);
/// # Ok(())
/// # }
/// ```
impl Deref for UnixListener {
    type Target = tokio::net::UnixListener;

    fn deref(&self) -> &tokio::net::UnixListener {
        &self.inner
    }
}

/// The listening socket, for socket options; accepting from it directly
/// bypasses the drain.
///
/// ```no_run
/// # fn f(ctx: littleboss::Context) {
/// use std::os::fd::AsFd;
/// let listener = ctx.unix("api").expect("api listener enabled");
/// let socket = listener.as_fd();
/// # let _ = socket;
/// # }
/// ```
impl std::os::fd::AsFd for UnixListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

/// The listening socket's number; see its `AsFd`.
impl std::os::fd::AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.inner.as_raw_fd()
    }
}

/// tokio's listener under it, as its `Deref` gives it (accepting
/// through it bypasses the drain).
///
/// ```no_run
/// # fn f(ctx: littleboss::Context) {
/// let listener = ctx.unix("api").expect("api listener enabled");
/// let tokio_listener: &tokio::net::UnixListener = listener.as_ref();
/// # let _ = tokio_listener;
/// # }
/// ```
impl AsRef<tokio::net::UnixListener> for UnixListener {
    fn as_ref(&self) -> &tokio::net::UnixListener {
        &self.inner
    }
}

/// `axum::serve` serves it (the `axum` feature), as it does
/// [`TcpListener`](crate::TcpListener): its `accept` returns no error (a
/// listener's own is waited out, 1 s at a time or until draining begins),
/// and bare `axum::serve`
/// tells kept-alive connections nothing while draining, which
/// `littleboss::http::CloseWhenDrainingLayer` (the `http` feature) does;
/// bound axum's wait for its connections by
/// [`Context::drain_budget`](crate::Context::drain_budget), as here.
///
/// ```no_run
/// # #[cfg(feature = "http")]
/// # async fn f(ctx: littleboss::Context, app: axum::Router) -> std::io::Result<()> {
/// let listener = ctx.unix("api").expect("api listener enabled");
/// let app = app.layer(littleboss::http::CloseWhenDrainingLayer::new(&ctx));
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
impl axum::serve::Listener for UnixListener {
    type Io = UnixStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let phase = self.phase.clone();
        crate::tcp::accept_retrying(phase, || UnixListener::accept(self)).await
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::watch;

    use super::UnixListener;
    use crate::lameduck::Phase;

    /// A fresh folder of this test process's own, named by `tag`, and the
    /// socket path in it.
    fn socket_in_fresh_dir(tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("littleboss-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sock");
        (dir, path)
    }

    #[tokio::test]
    async fn it_lends_its_socket_for_options() {
        let (dir, path) = socket_in_fresh_dir("unix-fd");
        let (_phase, rx) = watch::channel(Phase::Serving);
        let inner = tokio::net::UnixListener::bind(&path).unwrap();
        let raw = std::os::fd::AsRawFd::as_raw_fd(&inner);
        let listener = UnixListener::new(inner, rx, Default::default());
        fn takes(fd: &impl std::os::fd::AsFd) -> std::os::fd::RawFd {
            std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd())
        }
        assert_eq!(takes(&listener), raw);
        assert_eq!(std::os::fd::AsRawFd::as_raw_fd(&listener), raw);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn the_connections_accepted_are_recorded_until_they_close() {
        let (dir, path) = socket_in_fresh_dir("unix-rec");
        let (_phase, rx) = watch::channel(Phase::Serving);
        let accepted = std::sync::Arc::new(crate::accepted::Accepted::default());
        let inner = tokio::net::UnixListener::bind(&path).unwrap();
        let listener = UnixListener::new(inner, rx, accepted.clone());
        let _client = tokio::net::UnixStream::connect(&path).await.unwrap();
        let (conn, _) = listener.accept().await.unwrap();
        assert!(!accepted.all_closed());
        drop(conn);
        assert!(accepted.all_closed());
        drop(listener.into_inner());
        assert!(!accepted.all_closed());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn accept_yields_until_draining_then_leaves_connections_queued() {
        let (dir, path) = socket_in_fresh_dir("unix");
        let (phase, rx) = watch::channel(Phase::Serving);
        let listener = UnixListener::new(
            tokio::net::UnixListener::bind(&path).unwrap(),
            rx,
            Default::default(),
        );

        let _first = tokio::net::UnixStream::connect(&path).await.unwrap();
        listener.accept().await.unwrap();
        assert!(!listener.is_draining());
        let _polled = tokio::net::UnixStream::connect(&path).await.unwrap();
        std::future::poll_fn(|cx| listener.poll_accept(cx))
            .await
            .unwrap();

        phase.send_replace(Phase::Draining(std::time::Instant::now()));
        let _second = tokio::net::UnixStream::connect(&path).await.unwrap();
        let stalled = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(stalled.is_err(), "accepted while draining");
        let polled = std::future::poll_fn(|cx| listener.poll_accept(cx));
        let stalled = tokio::time::timeout(Duration::from_millis(100), polled).await;
        assert!(stalled.is_err(), "polled one while draining");
        assert!(listener.is_draining());
        // The connection stays in the shared queue, for the next child.
        listener.inner.accept().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
