//! The serve helpers: axum's own `serve`, and hyper-util's auto builder,
//! with the drain done right.

use std::io;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower_layer::Layer;
use tower_service::Service;

use super::close::CloseWhenDrainingLayer;
use super::drain::bounded;
use super::open::{CountingListener, OpenConnections, shutdown_signal};
use crate::report::warning;
use crate::{Context, TcpListener};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `router` on `listener` with axum (HTTP/1 and HTTP/2) until
/// lameduck (or, once draining, until no connection is left open), then
/// drains and returns: `Connection: close` on HTTP/1
/// responses from the moment draining begins, idle connections closed and
/// requests in flight finished at lameduck, HTTP/2 GOAWAY, all within the
/// lameduck timeout. See [the module](crate::http).
///
/// ```no_run
/// use axum::{Router, routing::get};
///
/// #[littleboss::main(name = "myblog", listener(http = "tcp:127.0.0.1:8080"))]
/// async fn main(ctx: littleboss::Context) -> std::io::Result<()> {
///     let app = Router::new().route("/", get(|| async { "hello" }));
///     let listener = ctx.tcp("http").expect("http listener enabled");
///     littleboss::http::serve(&ctx, listener, app).await
/// }
/// ```
///
/// # Errors
/// None today (axum retries failed accepts); the `Result` leaves room.
pub async fn serve(ctx: &Context, listener: TcpListener, router: axum::Router) -> io::Result<()> {
    let app = router.layer(CloseWhenDrainingLayer::new(ctx));
    let open = Arc::new(OpenConnections::default());
    let listener = CountingListener::new(ctx, listener, &open);
    let shutdown = {
        let ctx = ctx.clone();
        async move { shutdown_signal(&ctx, &open).await }
    };
    let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown);
    bounded(ctx, std::future::IntoFuture::into_future(serve))
        .await
        .unwrap_or(Ok(()))
}

/// Serves a tower `service` (a tonic router, a tower-http stack, an axum
/// `Router` too) on `listener` with hyper-util's auto builder (HTTP/1 and
/// HTTP/2, with upgrades) and hyper-util's graceful shutdown, draining as
/// [`serve`] does. Each connection gets a clone of the service.
///
/// ```no_run
/// use std::convert::Infallible;
///
/// #[littleboss::main(name = "svc", listener(http = "tcp:127.0.0.1:8080"))]
/// async fn main(ctx: littleboss::Context) -> std::io::Result<()> {
///     let service = tower::service_fn(|_request: http::Request<hyper::body::Incoming>| async {
///         Ok::<_, Infallible>(http::Response::new(String::from("hello")))
///     });
///     let listener = ctx.tcp("http").expect("http listener enabled");
///     littleboss::http::serve_service(&ctx, listener, service).await
/// }
/// ```
///
/// # Errors
/// An accept error other than one about the connection itself (too many
/// open files, say) is logged and retried after a second, never returned;
/// the `Result` leaves room.
pub async fn serve_service<S, B>(ctx: &Context, listener: TcpListener, service: S) -> io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let service = CloseWhenDrainingLayer::new(ctx).layer(service);
    let builder = Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let open = Arc::new(OpenConnections::default());
    let shutdown = shutdown_signal(ctx, &open);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) if crate::tcp::is_connection_error(&e) => continue,
            Err(e) => {
                warning!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = builder.serve_connection_with_upgrades(
            TokioIo::new(open.track(stream)),
            TowerToHyperService::new(service.clone()),
        );
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            // A connection's error (a client gone mid-request) ends that
            // connection only.
            let _ = conn.await;
        });
    }
    drop(listener);
    // Connections still open past the budget end with the process.
    let _ = bounded(ctx, graceful.shutdown()).await;
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use http::{Request, Response};
    use hyper::body::Incoming;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::watch;

    use crate::context::Timing;
    use crate::lameduck::Phase;
    use crate::{Context, TcpListener};

    /// A context and a listener whose phases the test drives.
    pub(in crate::http) async fn setup() -> (watch::Sender<Phase>, Context, TcpListener, SocketAddr)
    {
        let (phase, rx) = watch::channel(Phase::Serving);
        let timing = Timing {
            phase: rx.clone(),
            lameduck_timeout: Duration::from_secs(10),
            grace: Duration::ZERO,
        };
        let ctx = Context::new(Arc::default(), timing, None, Vec::new(), String::new());
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        (phase, ctx, TcpListener::new(inner, rx), addr)
    }

    /// One request on `conn`; the response head, lowercased.
    async fn exchange(conn: &mut TcpStream) -> String {
        conn.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        while !response.ends_with(b"\r\n\r\nhi") {
            let mut chunk = [0; 1024];
            let n = conn.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "closed after {:?}",
                String::from_utf8_lossy(&response)
            );
            response.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8(response).unwrap().to_ascii_lowercase()
    }

    /// The drain as a keep-alive client sees it: no `Connection: close`
    /// while serving; from draining on, `Connection: close` and the
    /// connection closed after the response; at lameduck the helper
    /// returns.
    async fn drains_keep_alive(
        serve: impl FnOnce(Context, TcpListener) -> tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let (phase, ctx, listener, addr) = setup().await;
        let server = serve(ctx, listener);
        let mut conn = TcpStream::connect(addr).await.unwrap();
        assert!(!exchange(&mut conn).await.contains("connection: close"));
        phase.send_replace(Phase::Draining(Instant::now()));
        assert!(exchange(&mut conn).await.contains("connection: close"));
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "{rest:?}");
        phase.send_replace(Phase::Lameduck(Instant::now()));
        tokio::time::timeout(Duration::from_secs(20), server)
            .await
            .expect("the helper returns at lameduck")
            .unwrap()
            .unwrap();
    }

    /// Draining with no connection open ends the helper without waiting
    /// for lameduck; a silent connection holds it until it closes.
    async fn finishes_when_nothing_is_open(
        serve: impl FnOnce(Context, TcpListener) -> tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let (phase, ctx, listener, addr) = setup().await;
        let mut server = serve(ctx, listener);
        let mut silent = TcpStream::connect(addr).await.unwrap();
        // Answered, so the server has accepted it.
        assert!(!exchange(&mut silent).await.contains("connection: close"));
        phase.send_replace(Phase::Draining(Instant::now()));
        let early = tokio::time::timeout(Duration::from_millis(300), &mut server).await;
        assert!(early.is_err(), "returned with a connection open");
        drop(silent);
        tokio::time::timeout(Duration::from_secs(20), server)
            .await
            .expect("returns once the last connection closes, before lameduck")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn serve_finishes_early_when_draining_leaves_nothing_open() {
        finishes_when_nothing_is_open(|ctx, listener| {
            let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
            tokio::spawn(async move { super::serve(&ctx, listener, app).await })
        })
        .await;
    }

    #[tokio::test]
    async fn serve_service_finishes_early_when_draining_leaves_nothing_open() {
        finishes_when_nothing_is_open(|ctx, listener| {
            let service = tower::service_fn(|_: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(String::from("hi")))
            });
            tokio::spawn(async move { super::serve_service(&ctx, listener, service).await })
        })
        .await;
    }

    #[tokio::test]
    async fn serve_service_drains_keep_alive_connections() {
        drains_keep_alive(|ctx, listener| {
            let service = tower::service_fn(|_: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(String::from("hi")))
            });
            tokio::spawn(async move { super::serve_service(&ctx, listener, service).await })
        })
        .await;
    }

    #[tokio::test]
    async fn serve_drains_keep_alive_connections() {
        drains_keep_alive(|ctx, listener| {
            let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
            tokio::spawn(async move { super::serve(&ctx, listener, app).await })
        })
        .await;
    }
}
