//! Counting the connections a helper serves, so that a draining program
//! with none left open finishes at once instead of waiting out the grace.
//!
//! The grace exists for connections accepted just before draining that
//! have not sent their request yet. Every such connection is open, so
//! counted: when the count is zero there is nothing the grace could save,
//! and the old child's process, memory and place in the supervisor are
//! given back a grace sooner.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use crate::{Context, TcpListener};

/// How many of the connections handed out are still open.
#[derive(Debug, Default)]
pub(crate) struct OpenConnections {
    count: AtomicUsize,
    closed: Notify,
}

impl OpenConnections {
    /// Counts `stream` until it is dropped.
    pub fn track<S>(self: &Arc<Self>, stream: S) -> Counted<S> {
        self.count.fetch_add(1, Ordering::SeqCst);
        Counted {
            inner: stream,
            open: self.clone(),
        }
    }

    /// Completes once no connection is open (at once if none is).
    pub async fn none(&self) {
        loop {
            let closed = self.closed.notified();
            tokio::pin!(closed);
            // Registered before the check, so a close in between wakes it.
            closed.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            closed.await;
        }
    }
}

/// When a helper begins its servers' graceful shutdown: at lameduck, or
/// earlier once draining has begun and no connection is left open.
pub(crate) async fn shutdown_signal(ctx: &Context, open: &OpenConnections) {
    let drained = async {
        ctx.draining().await;
        open.none().await;
    };
    tokio::select! {
        () = ctx.lameduck() => {}
        () = drained => {}
    }
}

/// A stream counted as open until dropped.
#[derive(Debug)]
pub(crate) struct Counted<S> {
    inner: S,
    open: Arc<OpenConnections>,
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        if self.open.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.open.closed.notify_waiters();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The program's listener, for axum, with every connection counted.
///
/// axum awaits its shutdown signal in a task of its own, so the signal can
/// find no connection open while this listener, on another thread, is
/// accepting one that arrived just as draining began; that connection
/// would then be closed unheard. So the listener counts as open itself
/// until its `accept` has seen draining begin (and takes nothing more
/// from the socket, only what is stashed): a connection accepted in that
/// race is counted first.
#[derive(Debug)]
pub(crate) struct CountingListener {
    inner: TcpListener,
    ctx: Context,
    open: Arc<OpenConnections>,
    accepting: Option<Counted<()>>,
}

impl CountingListener {
    /// `inner`, its connections counted in `open`.
    pub fn new(ctx: &Context, inner: TcpListener, open: &Arc<OpenConnections>) -> Self {
        CountingListener {
            inner,
            ctx: ctx.clone(),
            open: open.clone(),
            accepting: Some(open.track(())),
        }
    }

    /// Once draining: what a refusal took off the queue (stashed before
    /// draining was told) is served still, taken with one look, which
    /// passes over connections whose clients are gone. Nothing taken:
    /// this listener stops counting as open, so that the drain need not
    /// wait for it, and serves what is stashed later (a hand-over read
    /// after draining began) if the helper still asks.
    async fn accept_stashed(&mut self) -> (Counted<tokio::net::TcpStream>, SocketAddr) {
        let taken = {
            let mut stashed = std::pin::pin!(TcpListener::accept(&self.inner));
            std::future::poll_fn(|cx| std::task::Poll::Ready(stashed.as_mut().poll(cx))).await
        };
        if let std::task::Poll::Ready(Ok((stream, peer))) = taken {
            return (self.open.track(stream), peer);
        }
        self.accepting = None;
        loop {
            match TcpListener::accept(&self.inner).await {
                Ok((stream, peer)) => return (self.open.track(stream), peer),
                // Not from the stash, which yields no errors: the socket
                // (the lifecycle gone, draining never told it). Paused as
                // the helpers' accept loops pause, not a spin.
                Err(e) => {
                    if let Some(pause) = crate::tcp::pause_after_accept_error(&e) {
                        tokio::time::sleep(pause).await;
                    }
                }
            }
        }
    }
}

impl axum::serve::Listener for CountingListener {
    type Io = Counted<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        tokio::select! {
            biased;
            () = self.ctx.draining() => self.accept_stashed().await,
            (stream, peer) = axum::serve::Listener::accept(&mut self.inner) => {
                // Nagle left on, as axum leaves it: with it off, HTTP/2
                // clients lost many more requests to the graceful GOAWAY
                // (commit 684447e, measured with drain_bench).
                (self.open.track(stream), peer)
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{CountingListener, OpenConnections};
    use crate::lameduck::Phase;

    /// Until the listener has seen draining begin it may still be
    /// accepting, so nothing counts as drained; once it has, the count
    /// reaches zero.
    #[tokio::test]
    async fn the_listener_is_open_until_it_has_seen_draining() {
        let (phase, ctx, inner, addr) = crate::http::serve::tests::setup(Duration::ZERO).await;
        let open = Arc::new(OpenConnections::default());
        let mut listener = CountingListener::new(&ctx, inner, &open);

        phase.send_replace(Phase::Draining(std::time::Instant::now()));
        let early = tokio::time::timeout(Duration::from_millis(100), open.none()).await;
        assert!(early.is_err(), "drained before the listener stopped");
        // A client in the queue, which a listener still accepting takes.
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let accepted = tokio::time::timeout(
            Duration::from_millis(100),
            axum::serve::Listener::accept(&mut listener),
        )
        .await;
        assert!(accepted.is_err(), "accepted while draining");
        tokio::time::timeout(Duration::from_secs(5), open.none())
            .await
            .expect("nothing open once the listener has stopped");
    }

    /// Connections stashed for it whose clients are gone (reset) do not
    /// keep the listener counted open once draining.
    #[tokio::test]
    async fn stashed_connections_whose_clients_are_gone_leave_it_drained() {
        use std::os::fd::{AsFd, OwnedFd};
        let (phase, ctx, inner, addr) = crate::http::serve::tests::setup(Duration::ZERO).await;
        // A connection accepted while serving and stashed for `inner` (as
        // a hand-over is), its client then gone with a reset.
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (server, _) = crate::TcpListener::accept(&inner).await.unwrap();
        let reset = nix::libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        nix::sys::socket::setsockopt(&client, nix::sys::socket::sockopt::Linger, &reset).unwrap();
        drop(client);
        let server = OwnedFd::from(server.into_std().unwrap());
        // The reset has arrived: the socket knows no peer any more.
        let peerless = || {
            nix::sys::socket::getpeername::<nix::sys::socket::SockaddrStorage>(
                std::os::fd::AsRawFd::as_raw_fd(&server),
            )
            .is_err()
        };
        for _ in 0..200 {
            if peerless() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(peerless(), "the reset never arrived");
        let inode = crate::stash::inode(inner.as_fd()).unwrap();
        let accepted = inner.accepted_for_test();
        accepted.stash_handed(inode, vec![server]);
        let open = Arc::new(OpenConnections::default());
        let mut listener = CountingListener::new(&ctx, inner, &open);
        phase.send_replace(Phase::Draining(std::time::Instant::now()));
        let accepting =
            tokio::spawn(async move { axum::serve::Listener::accept(&mut listener).await });
        tokio::time::timeout(Duration::from_secs(5), open.none())
            .await
            .expect("counted open still, over connections gone");
        // One stashed later (a hand-over read after draining began) is
        // still served.
        let side = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let late_client = std::net::TcpStream::connect(side.local_addr().unwrap()).unwrap();
        let (late, _) = side.accept().unwrap();
        // Non-blocking, as the supervisor's hand-over takes them.
        late.set_nonblocking(true).unwrap();
        accepted.stash_handed(inode, vec![OwnedFd::from(late)]);
        let (served, peer) = tokio::time::timeout(Duration::from_secs(5), accepting)
            .await
            .expect("the connection stashed later is served")
            .unwrap();
        assert_eq!(peer, late_client.local_addr().unwrap());
        // Counted open while it is.
        assert!(
            tokio::time::timeout(Duration::from_millis(100), open.none())
                .await
                .is_err()
        );
        drop(served);
    }

    #[tokio::test]
    async fn none_waits_for_the_last_close() {
        let open = Arc::new(OpenConnections::default());
        tokio::time::timeout(Duration::from_secs(5), open.none())
            .await
            .expect("nothing open: at once");
        let first = open.track(());
        let second = open.track(());
        let waiting = tokio::spawn({
            let open = open.clone();
            async move { open.none().await }
        });
        drop(first);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "one is still open");
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the last close wakes it")
            .unwrap();
    }
}
