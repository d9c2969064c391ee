//! `TcpListener::incoming`: the listener's connections as a stream (the
//! `stream` cargo feature), for servers that take one rather than a
//! listener, such as tonic's `serve_with_incoming_shutdown`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use tokio::net::TcpStream;

use crate::TcpListener;

type Accepting = Pin<Box<dyn Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send>>;

/// The connections of a [`TcpListener`], as a [`futures_core::Stream`]:
/// it yields each accepted connection (or accept error) until draining
/// begins, and from then on none (but what a refusal took off the queue),
/// as [`TcpListener::accept`] does. An
/// error that is not one connection's (out of descriptors) is yielded a
/// second after it came, with a warning: a server that skips errors
/// (tonic) would otherwise try again at once, and spin. End it with
/// lameduck:
///
/// ```ignore
/// let incoming = ctx.tcp("grpc").expect("grpc listener enabled").incoming();
/// tonic::transport::Server::builder()
///     .add_service(service)
///     .serve_with_incoming_shutdown(incoming, ctx.lameduck())
///     .await?;
/// ```
pub struct Incoming {
    listener: Arc<TcpListener>,
    accepting: Option<Accepting>,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

impl TcpListener {
    /// Its connections as a stream (the `stream` feature); see [`Incoming`].
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let incoming = ctx.tcp("grpc").expect("grpc listener enabled").incoming();
    /// # let _ = incoming;
    /// # }
    /// ```
    pub fn incoming(self) -> Incoming {
        Incoming {
            listener: Arc::new(self),
            accepting: None,
        }
    }
}

impl futures_core::Stream for Incoming {
    type Item = io::Result<TcpStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let listener = self.listener.clone();
        let accepting = self.accepting.get_or_insert_with(|| {
            Box::pin(async move {
                loop {
                    let accepted = listener.accept().await;
                    if let Err(e) = &accepted
                        && after_error(&listener, e).await == AfterError::Draining
                    {
                        // What a refusal took off the queue meanwhile is
                        // yielded still; the error is past.
                        continue;
                    }
                    return accepted;
                }
            })
        });
        let accepted = std::task::ready!(accepting.as_mut().poll(cx));
        self.accepting = None;
        Poll::Ready(Some(accepted.map(|(stream, _peer)| stream)))
    }
}

/// What came of the wait after an accept error.
#[derive(Debug, PartialEq, Eq)]
enum AfterError {
    /// Yield the error.
    Yield,
    /// Draining began meanwhile: accept again, which yields only what a
    /// refusal took off the queue (and pends once that is taken).
    Draining,
}

/// Waits before accept error `e` is yielded, as
/// [`pause_after_accept_error`](crate::tcp::pause_after_accept_error)
/// says.
async fn after_error(listener: &TcpListener, e: &io::Error) -> AfterError {
    let Some(pause) = crate::tcp::pause_after_accept_error(e) else {
        return AfterError::Yield;
    };
    // Cut short by draining: a short grace may end before the pause
    // would, and with it the stash.
    tokio::select! {
        biased;
        () = listener.draining() => AfterError::Draining,
        () = tokio::time::sleep(pause) => AfterError::Yield,
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::pin::Pin;
    use std::time::Duration;

    use futures_core::Stream;
    use tokio::sync::watch;

    use crate::TcpListener;
    use crate::lameduck::Phase;

    #[tokio::test]
    async fn an_error_waited_out_into_draining_is_not_yielded_but_accept_tried_again() {
        let (phase, rx) = watch::channel(Phase::Serving);
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listener = TcpListener::new(inner, rx, Default::default());
        let emfile = std::io::Error::from_raw_os_error(nix::libc::EMFILE);
        let waiting = super::after_error(&listener, &emfile);
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(100), &mut waiting)
                .await
                .is_err()
        );
        phase.send_replace(Phase::Draining(std::time::Instant::now()));
        // Back to the accept, which yields only what a refusal stashed;
        // at once, not at the pause's end (a short grace ends sooner).
        let after = tokio::time::timeout(Duration::from_millis(500), &mut waiting).await;
        assert_eq!(after.ok(), Some(super::AfterError::Draining));
        // While serving, it is yielded after the pause.
        let (_serving, rx) = watch::channel(Phase::Serving);
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listener = TcpListener::new(inner, rx, Default::default());
        let done = tokio::time::timeout(
            Duration::from_millis(1500),
            super::after_error(&listener, &emfile),
        );
        assert_eq!(done.await.ok(), Some(super::AfterError::Yield));
    }

    #[test]
    fn a_listeners_error_is_waited_out_and_a_connections_is_not() {
        let os = std::io::Error::from_raw_os_error;
        let pause_after = crate::tcp::pause_after_accept_error;
        assert_eq!(pause_after(&os(nix::libc::ECONNABORTED)), None);
        assert_eq!(
            pause_after(&os(nix::libc::EMFILE)),
            Some(std::time::Duration::from_secs(1))
        );
    }

    async fn next(
        incoming: &mut super::Incoming,
    ) -> Option<std::io::Result<tokio::net::TcpStream>> {
        poll_fn(|cx| Pin::new(&mut *incoming).poll_next(cx)).await
    }

    #[tokio::test]
    async fn yields_connections_until_draining() {
        let (phase, rx) = watch::channel(Phase::Serving);
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let mut incoming = TcpListener::new(inner, rx, Default::default()).incoming();

        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let served = next(&mut incoming).await.unwrap().unwrap();
        assert_eq!(served.peer_addr().unwrap(), client.local_addr().unwrap());

        phase.send_replace(Phase::Draining(std::time::Instant::now()));
        let _late = tokio::net::TcpStream::connect(addr).await.unwrap();
        let stalled = tokio::time::timeout(Duration::from_millis(200), next(&mut incoming)).await;
        assert!(stalled.is_err(), "yielded a connection while draining");
    }
}
