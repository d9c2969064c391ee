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

type Accepting = Pin<Box<dyn Future<Output = (TcpStream, SocketAddr)> + Send>>;

/// The connections of a [`TcpListener`], as a [`futures_core::Stream`]
/// (the `stream` feature):
/// it yields each accepted connection until draining begins, and from
/// then on none (but what a refusal took off the queue), as
/// [`TcpListener::accept`] does. It never yields an error, for tonic ends
/// its server on most: one connection's error is passed over, and any
/// other (out of descriptors) is said as a warning and accept tried again
/// a second later, as axum does for its own listeners. End it with
/// lameduck, and bound tonic's wait for the calls still open (a
/// streaming call may never end of itself) by what the lameduck timeout
/// leaves, so that `main` returns before the supervisor's kill (not
/// compiled here, as tonic is no dependency of this crate;
/// [`TcpListener::incoming`]'s example is):
///
/// ```ignore
/// let incoming = ctx.tcp("grpc").expect("grpc listener enabled").incoming();
/// let serving = tonic::transport::Server::builder()
///     .add_service(service)
///     .serve_with_incoming_shutdown(incoming, ctx.lameduck());
/// let bound = async {
///     ctx.lameduck().await;
///     tokio::time::sleep(ctx.drain_budget()).await;
/// };
/// tokio::select! {
///     served = serving => served?,
///     () = bound => {}
/// }
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
    /// Read by hand, as a server that takes a stream reads it, until
    /// lameduck: the stream itself never ends (from draining on it yields
    /// only what a refusal took off the queue, then pends), so a reader
    /// ends it, as tonic's `serve_with_incoming_shutdown` does:
    ///
    /// ```no_run
    /// use futures_core::Stream;
    ///
    /// # async fn f(ctx: littleboss::Context) -> std::io::Result<()> {
    /// let incoming = ctx.tcp("grpc").expect("grpc listener enabled").incoming();
    /// let mut incoming = std::pin::pin!(incoming);
    /// let mut lameduck = std::pin::pin!(ctx.lameduck());
    /// loop {
    ///     let next = std::future::poll_fn(|cx| incoming.as_mut().poll_next(cx));
    ///     let conn = tokio::select! {
    ///         Some(conn) = next => conn?,
    ///         () = &mut lameduck => break,
    ///     };
    ///     tokio::spawn(async move { drop(conn) });
    /// }
    /// # Ok(())
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
    /// Always `Ok` (see [`Incoming`]): a `Result` for the servers that
    /// take a stream of them.
    type Item = io::Result<TcpStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let listener = self.listener.clone();
        let accepting = (self.accepting)
            .get_or_insert_with(|| Box::pin(async move { listener.accept_past_errors().await }));
        let (stream, _peer) = std::task::ready!(accepting.as_mut().poll(cx));
        self.accepting = None;
        Poll::Ready(Some(Ok(stream)))
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
