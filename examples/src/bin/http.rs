//! An HTTP server that is reloaded without refusing a connection: the Go
//! package's README example, in Rust with axum.
//!
//! Every response carries an `x-littleboss-pid` header naming the process
//! that served it, so a reload shows up as a change of pid. `/slow?ms=N`
//! answers after N milliseconds (at most 10 000): start one, reload, and it
//! still completes, served by the old child while it drains.
//!
//! Run it directly (no supervisor, as a plain program would):
//!
//! ```text
//! cargo run -p examples --bin http
//! ```
//!
//! Or supervised, and reload it while it serves:
//!
//! ```text
//! cargo build -p examples --bin http
//! target/debug/http -littleboss=start &           # supervisor + first child
//! curl -i http://127.0.0.1:8080/                  # x-littleboss-pid: <child 1>
//! curl http://127.0.0.1:8080/slow?ms=5000 &       # in flight during the reload...
//! cargo build -p examples --bin http             # (after changing the code, say)
//! target/debug/http -littleboss=reload            # start child 2, lameduck child 1
//! curl -i http://127.0.0.1:8080/                  # x-littleboss-pid: <child 2>
//! target/debug/http -littleboss=status            # supervisor state
//! target/debug/http -littleboss=stop              # drain and exit
//! ```
//!
//! `-http=127.0.0.1:9000` serves elsewhere; `-h` lists littleboss's flags.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::middleware::map_response;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The longest `/slow` answers.
const SLOW_MAX_MS: u64 = 10_000;

/// How long connections accepted before lameduck may take to send their
/// request. axum's graceful shutdown closes connections that are idle the
/// moment it begins, and a connection accepted just before, whose request is
/// still unread, would be reset.
const REQUEST_GRACE: Duration = Duration::from_millis(500);

/// A listener that stops accepting when lameduck begins, ahead of the
/// graceful shutdown of the connections it accepted.
struct UntilLameduck {
    listener: Option<TcpListener>,
    lameduck: Pin<Box<dyn Future<Output = ()> + Send>>,
    addr: SocketAddr,
}

impl UntilLameduck {
    fn new(
        listener: TcpListener,
        lameduck: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        Ok(UntilLameduck {
            listener: Some(listener),
            lameduck: Box::pin(lameduck),
            addr,
        })
    }
}

impl axum::serve::Listener for UntilLameduck {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        while let Some(listener) = &self.listener {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(conn) => return conn,
                    Err(e) => {
                        // Out of fds, say: wait rather than spin.
                        eprintln!("http: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                () = &mut self.lameduck => self.listener = None,
            }
        }
        std::future::pending().await
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

#[littleboss::main(
    name = "littleboss-http",
    listener(http = "tcp:127.0.0.1:8080"),
    lameduck = "10s"
)]
async fn main(ctx: littleboss::Context) -> std::io::Result<()> {
    let listener = ctx.tcp("http").expect("the http listener is off (-http=)");
    let pid = std::process::id();
    eprintln!("http: pid {pid} serving http://{}/", listener.local_addr()?);

    let app = Router::new()
        .route("/", get(hello))
        .route("/slow", get(slow))
        .layer(map_response(pid_header))
        .layer(map_response({
            let ctx = ctx.clone();
            move |response| close_when_lameduck(ctx.clone(), response)
        }));

    // On lameduck: stop accepting at once (the socket stays open in the
    // supervisor, where the next child is already accepting), close each
    // keep-alive connection after its next response, give connections
    // accepted an instant earlier a moment to send their request, then close
    // idle connections and let requests in flight finish.
    let lameduck = ctx.lameduck();
    let listener = UntilLameduck::new(listener, ctx.lameduck())?;
    let shutdown = async move {
        lameduck.await;
        tokio::time::sleep(REQUEST_GRACE).await;
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    eprintln!("http: pid {pid} drained, exiting");
    Ok(())
}

async fn hello() -> String {
    format!(
        "hello from littleboss-http, pid {}, version {VERSION}\n",
        std::process::id()
    )
}

#[derive(Deserialize)]
struct SlowParams {
    ms: Option<u64>,
}

async fn slow(Query(params): Query<SlowParams>) -> String {
    let ms = params.ms.unwrap_or(1000).min(SLOW_MAX_MS);
    eprintln!(
        "http: pid {} answering /slow in {ms} ms",
        std::process::id()
    );
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("slept {ms} ms in pid {}\n", std::process::id())
}

/// Tags every response with the pid of the process that served it.
/// Once lameduck has begun, ends each keep-alive connection after its
/// current response (`Connection: close`): the client reconnects, to the
/// new child, instead of sending its next request on a connection that the
/// graceful shutdown is about to close.
async fn close_when_lameduck(ctx: littleboss::Context, mut response: Response) -> Response {
    if ctx.is_lameduck() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

async fn pid_header(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("x-littleboss-pid", HeaderValue::from(std::process::id()));
    response
}
