//! Counting the connections a helper serves, so that it waits, after its
//! server's graceful shutdown, for those handed to an upgrade handler (a
//! WebSocket's), which that shutdown no longer knows. The same wrapper of
//! each connection's stream tells whether a request has begun on it (see
//! [`head`](super::head)).
//!
//! A draining program with nothing open finishes early by lameduck, which
//! comes once every connection accepted has closed (and, after a drain
//! begun by the child's own signal, once the supervisor's hand-over can
//! no longer come): not by a count here, which knows nothing of that.
//!
//! Its shutdown lingers, as HTTP/1 asks of a server that closes: once the
//! writing half is shut, what the client still sends is read and dropped
//! until it closes too (or the linger, [`linger_for`], has passed, or
//! [`LINGER_BYTES`] came). A socket closed with bytes unread (a pipelined
//! request, a body hyper did not read, an HTTP/2 client's window updates)
//! is reset, and the reset throws away what is still queued to send: the
//! end of the last response. Not on a connection that asked for an
//! upgrade (see [`RequestBegun::upgrade_asked`]): there the shutdown is its
//! handler's, which may go on reading (a tunnel's copy, a WebSocket's
//! closing handshake).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use super::head::RequestBegun;
use crate::TcpListener;
use crate::accepted::Accepted;

/// How many of the connections handed out are still open.
#[derive(Debug, Default)]
pub(crate) struct OpenConnections {
    count: AtomicUsize,
    closed: Notify,
    /// Told when the last one closes, so that the grace looks at once.
    accepted: Arc<Accepted>,
    /// How long a close lingers ([`linger_for`]).
    linger: Duration,
}

impl OpenConnections {
    /// Counting for the connections of `listener`, whose lameduck is told
    /// when none is left open; their closes linger for `linger`.
    pub fn of(listener: &TcpListener, linger: Duration) -> Arc<Self> {
        Arc::new(OpenConnections {
            accepted: listener.accepted(),
            linger,
            ..OpenConnections::default()
        })
    }

    /// Counts `stream` until it is dropped, telling `begun` what it reads
    /// and writes (see [`head`](super::head)); its shutdown lingers (see
    /// the module's doc).
    pub fn track<S>(self: &Arc<Self>, stream: S, begun: Arc<RequestBegun>) -> Counted<S> {
        self.count.fetch_add(1, Ordering::SeqCst);
        Counted {
            inner: stream,
            begun,
            lingering: None,
            _open: OpenToken(self.clone()),
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

/// A stream counted as open until dropped, telling its [`RequestBegun`]
/// what it reads and writes; its shutdown lingers (see the module's doc).
#[derive(Debug)]
pub(crate) struct Counted<S> {
    inner: S,
    begun: Arc<RequestBegun>,
    /// Set once the writing half is shut: the close lingers.
    lingering: Option<Lingering>,
    /// After `inner`: fields drop in order, so the count falls (and the
    /// lameduck looks) once the descriptor is closed, not before.
    _open: OpenToken,
}

/// One count of [`OpenConnections`], given back when dropped.
#[derive(Debug)]
struct OpenToken(Arc<OpenConnections>);

impl Drop for OpenToken {
    fn drop(&mut self) {
        let open = &self.0;
        if open.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            open.closed.notify_waiters();
            open.accepted.closed();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.begun.read(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n @ 1..)) = polled {
            self.begun.written(&buf[..n.min(buf.len())]);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n @ 1..)) = polled {
            // What was written of the first slice with bytes: where a
            // response begins.
            let first = bufs.iter().find(|buf| !buf.is_empty());
            self.begun
                .written(first.map_or(&[], |buf| &buf[..n.min(buf.len())]));
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.begun.upgrade_asked() {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        }
        if this.lingering.is_none() {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            this.lingering = Some(Lingering::new(this._open.0.linger));
        }
        let lingering = this.lingering.as_mut().expect("set above");
        lingering.poll_until_closed(&mut this.inner, cx).map(Ok)
    }
}

/// How long a close lingers for the client's own: a client that reads its
/// last response closes within a round trip; one that does not (a pool
/// that does not watch its idle connections) is not waited for long: a
/// quarter of the drain budget (200 ms at the defaults), capped at 1 s,
/// so that an idle connection closed at lameduck holds the old child
/// little and ends well before the drain's bound (a response that ends
/// late in the budget may linger into the bound, which then cuts it).
pub(crate) fn linger_for(ctx: &crate::Context) -> Duration {
    Duration::from_secs(1).min(ctx.drain_budget() / 4)
}

/// The most a close reads and drops while it lingers.
const LINGER_BYTES: usize = 256 * 1024;

/// A close lingering (see the module's doc).
#[derive(Debug)]
struct Lingering {
    until: Pin<Box<tokio::time::Sleep>>,
    dropped: usize,
}

impl Lingering {
    fn new(linger: Duration) -> Lingering {
        Lingering {
            until: Box::pin(tokio::time::sleep(linger)),
            dropped: 0,
        }
    }

    /// Ready once the client has closed (or reset), or the linger is up.
    fn poll_until_closed<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        cx: &mut TaskContext<'_>,
    ) -> Poll<()> {
        let mut chunk = [0u8; 4096];
        loop {
            let room = LINGER_BYTES - self.dropped;
            if room == 0 || self.until.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            let mut buf = ReadBuf::new(&mut chunk[..room.min(4096)]);
            match ready!(Pin::new(&mut *stream).poll_read(cx, &mut buf)) {
                Ok(()) if buf.filled().is_empty() => return Poll::Ready(()),
                Ok(()) => self.dropped += buf.filled().len(),
                Err(_) => return Poll::Ready(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::OpenConnections;

    /// The last close of the connections counted tells the lameduck's
    /// grace to look at once. (That the descriptor is closed by then,
    /// the field order, is only smoke-tested: swapped, the look would
    /// almost always come after the close all the same.)
    #[tokio::test]
    async fn the_last_close_tells_the_grace_with_the_descriptors_closed() {
        let (_phase, _ctx, inner, addr) = crate::http::serve::tests::setup(Duration::ZERO).await;
        let accepted = inner.accepted();
        let open = OpenConnections::of(&inner, Duration::ZERO);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, _) = inner.accept().await.unwrap();
        let served = open.track(stream, Arc::default());
        assert!(!accepted.all_closed());
        // Whatever an earlier close told is taken.
        accepted.wait_for_a_close(Duration::ZERO);
        let waiting = std::thread::spawn({
            let accepted = accepted.clone();
            move || {
                let began = std::time::Instant::now();
                accepted.wait_for_a_close(Duration::from_secs(30));
                (began.elapsed(), accepted.all_closed())
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(served);
        let (waited, all_closed) = waiting.join().unwrap();
        assert!(waited < Duration::from_secs(10), "not told: {waited:?}");
        assert!(all_closed, "told before the descriptor closed");
    }

    #[tokio::test]
    async fn none_waits_for_the_last_close() {
        let open = Arc::new(OpenConnections::default());
        tokio::time::timeout(Duration::from_secs(5), open.none())
            .await
            .expect("nothing open: at once");
        let first = open.track((), Arc::default());
        let second = open.track((), Arc::default());
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
