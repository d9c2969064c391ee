//! The serve helpers: axum's own `serve`, and hyper-util's auto builder,
//! with the drain done right.

use std::io;

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
use crate::log::log;
use crate::{Context, TcpListener};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `router` on `listener` with axum (HTTP/1 and HTTP/2) until
/// lameduck, then drains and returns: `Connection: close` on HTTP/1
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
    let serve = axum::serve(listener, app).with_graceful_shutdown(ctx.lameduck());
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
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut lameduck => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                log!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = builder.serve_connection_with_upgrades(
            TokioIo::new(stream),
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

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
