//! The serve helpers, both on hyper-util's auto builder, with the drain
//! done right.

use std::io;
use std::sync::Arc;

use axum::Extension;
use axum::extract::ConnectInfo;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tower_layer::Layer;
use tower_service::Service;

use super::close::CloseWhenDraining;
use super::deferral::defer_silent_connections;
use super::drain::bounded;
use super::graceful::serve_until_shut;
use super::head::{HandedOn, RequestBegun};
use super::open::OpenConnections;
use super::spread::CloseTimes;
use crate::{Context, TcpListener};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `router` on `listener` (HTTP/1 and HTTP/2) until lameduck
/// (which comes early once draining has left no connection open), then
/// drains and returns: `Connection: close` on HTTP/1 responses once
/// draining has begun, each connection at a time of its own within the
/// first half of the grace; idle connections closed, requests in flight
/// finished and HTTP/2 connections sent a graceful GOAWAY at lameduck;
/// all within the lameduck timeout. See [the module](crate::http). It is
/// [`serve_service`] with the router as the service, which says the
/// rest: hyper-util's auto builder serves each connection as
/// `axum::serve` does (upgrades and WebSockets over HTTP/2 included), but
/// littleboss shuts each down at lameduck itself, reading a request that
/// has just come before it closes an idle one, and closes those still open when it
/// gives up at the bound (as `serve_service` says, but for handlers
/// running on in tasks of their own), where `axum::serve` would leave
/// them to run on in its tasks. Handlers can extract the peer's address as
/// `ConnectInfo<SocketAddr>`.
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
/// As [`serve_service`]'s: an accept error other than one about the
/// connection itself is logged and retried after a second, never
/// returned; the `Result` leaves room.
pub async fn serve(ctx: &Context, listener: TcpListener, router: axum::Router) -> io::Result<()> {
    serve_service(ctx, listener, router).await
}

/// Serves a tower `service` that cannot fail (a tonic router, a
/// tower-http stack, an axum `Router` too) on `listener` with hyper-util's auto builder (HTTP/1 and
/// HTTP/2, with upgrades, as `axum::serve` sets it up) and hyper's
/// graceful shutdown of each connection, draining as
/// [the module](crate::http) says; [`serve`] is this, for a `Router`. It
/// turns on `TCP_DEFER_ACCEPT` on the listening socket unless it is set
/// already, and the socket, shared, keeps it (see
/// [`TcpListener::defer_accept`]).
/// At lameduck a connection is shut down once what its client has sent is
/// read (10 to 20 ms of looking at most), no HTTP/1 request head is
/// partly read (up to 500 ms for the rest) and no upgrade's answer is
/// pending (within the same 500 ms), so a request arriving on an
/// idle connection just then is answered rather than closed on: the race
/// narrowed, not closed (`axum::serve` leaves it). Each connection gets a
/// clone of the service (and its own close time); each request carries
/// the peer's address as axum's `ConnectInfo<SocketAddr>` extension, so an axum `Router` served so can
/// extract it. Nagle's algorithm stays on, as axum's `serve` leaves it:
/// measured under reloads, `TCP_NODELAY` had HTTP/2 clients lose more
/// requests to the race with GOAWAY (a server streaming small frames that
/// needs it off serves its own connections). A connection handed to an
/// upgrade (a WebSocket, a CONNECT tunnel) is read and written through
/// littleboss's own wrapper of its `TcpStream` (it counts the connections
/// still open), so `hyper::upgrade::Upgraded::downcast` to the stream's
/// type finds none: use it as the `AsyncRead + AsyncWrite` it is.
/// Connections still open when it gives up at the bound are closed as it
/// returns; a handler still running for an HTTP/2 stream runs on in its
/// own task until it finishes, its answer going nowhere, and an upgraded
/// connection lives in its handler's task. The service cannot fail (its
/// error is `Infallible`, as `axum::serve` asks): hyper would end the
/// connection of a request whose service failed, without an answer. A
/// stack that can (tower's `timeout` or `load_shed`) turns its errors
/// into responses first, with axum's `HandleErrorLayer`, say.
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
    S: Service<Request<Incoming>, Response = Response<B>, Error = std::convert::Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    defer_silent_connections(&listener);
    let mut close_times = CloseTimes::new(ctx.grace());
    let mut builder = Builder::new(TokioExecutor::new());
    // As axum's `serve` does: WebSockets over HTTP/2 (RFC 8441).
    builder.http2().enable_connect_protocol();
    // Tells every connection to shut down gracefully (see `graceful`).
    let (shut, shut_told) = tokio::sync::watch::channel(false);
    let open = OpenConnections::of(&listener, super::open::linger_for(ctx));
    let shutdown = ctx.lameduck();
    let mut phase = ctx.phase();
    tokio::pin!(shutdown);
    // Dropped on return: connections still open past the bound end with
    // it, not after it, in a program that goes on.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // The listener before the shutdown: what a refusal took off its
        // queue is served before the shutdown. A finished connection's
        // task is let go of as it ends (not at the next accept: a burst,
        // then quiet, would hold them all).
        let accepted = tokio::select! {
            biased;
            // Ready only once a task has ended: first, so that a backlog
            // that never empties cannot starve it.
            Some(ended) = connections.join_next() => {
                say_if_panicked(ended);
                continue;
            }
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Watching for draining meanwhile: back to the listener,
                // which yields what a refusal took off the queue (and
                // then pends, so the shutdown ends the loop), before the
                // shutdown.
                crate::tcp::wait_out_accept_error(&mut phase, &e).await;
                continue;
            }
        };
        // The connection's own close time, kept by hyper's clone of the
        // service for each request; the peer's address as axum's
        // `ConnectInfo`, for an axum `Router` served so.
        let service = Extension(ConnectInfo(peer)).layer(service.clone());
        let service = CloseWhenDraining::at(service, ctx, close_times.draw());
        // Whether its client has begun a request hyper has not handed on.
        let begun = Arc::new(RequestBegun::default());
        let service = HandedOn::new(service, begun.clone());
        let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
        let conn = builder.serve_connection_with_upgrades(
            TokioIo::new(open.track(stream, begun.clone())),
            TowerToHyperService::new(service),
        );
        let conn = conn.into_owned();
        let shut = shut_told.clone();
        let conn = serve_until_shut(conn, fd, begun, ctx.clone(), shut, |conn| {
            conn.graceful_shutdown();
        });
        connections.spawn(conn);
    }
    drop(listener);
    shut.send_replace(true);
    let drained = async {
        while let Some(ended) = connections.join_next().await {
            say_if_panicked(ended);
        }
        // Those hyper handed to their upgrade handlers (WebSocket, say):
        // hyper's graceful shutdown is done with them at the upgrade, but
        // a handler that closes its own on `ctx.draining()` or
        // `ctx.lameduck()` still gets until the bound, as a request in
        // flight does. Without one open, at once.
        open.none().await;
    };
    let _ = bounded(ctx, drained).await;
    Ok(())
}

/// Says that a connection's task panicked (an HTTP/1 handler, polled in
/// it, or hyper's own code for the connection): its connection was
/// dropped with the response unfinished (or not begun), and a program
/// with a panic hook of its own would otherwise see nothing of it from
/// us. hyper runs each HTTP/2 stream's handler in a task of its own,
/// whose panic resets that stream alone and is the panic hook's to say.
fn say_if_panicked(ended: Result<(), tokio::task::JoinError>) {
    if let Err(e) = ended
        && e.is_panic()
    {
        crate::report::say_detached(
            log::Level::Warn,
            "a connection's task panicked (an HTTP/1 handler, say); its connection was dropped, its response unfinished"
                .to_owned(),
        );
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::convert::Infallible;
    use std::io;
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use http::{Request, Response};
    use hyper::body::Incoming;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::watch;
    use tokio::task::JoinHandle;

    use crate::context::Timing;
    use crate::lameduck::Phase;
    use crate::{Context, TcpListener};

    /// How long a test waits for the helper to return: well within the
    /// bound that ends it anyway (9.75 s after draining began, with
    /// `setup`'s 10 s lameduck timeout), so that what the test means to
    /// end it did.
    const ENDS_WELL_BEFORE_THE_BOUND: Duration = Duration::from_secs(5);

    /// A context with `grace` and a listener whose phases the test drives.
    pub(in crate::http) async fn setup(
        grace: Duration,
    ) -> (watch::Sender<Phase>, Context, TcpListener, SocketAddr) {
        let (phase, rx) = watch::channel(Phase::Serving);
        let timing = Timing {
            phase: rx.clone(),
            lameduck_timeout: Duration::from_secs(10),
            grace,
            accepted: Arc::default(),
        };
        let ctx = Context::new(Arc::default(), timing, None, Vec::new(), String::new());
        let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        (
            phase,
            ctx,
            TcpListener::new(inner, rx, Default::default()),
            addr,
        )
    }

    /// A context with `grace` and a listener drained by a real lameduck
    /// (a refusal: its `begin` shuts the socket, what is queued stashed).
    pub(in crate::http) fn with_lameduck(
        grace: Duration,
    ) -> (
        Arc<crate::lameduck::Lameduck>,
        Context,
        TcpListener,
        SocketAddr,
    ) {
        use std::os::fd::OwnedFd;
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let program = socket.try_clone().unwrap();
        program.set_nonblocking(true).unwrap();
        let listener = crate::lameduck::Listener {
            name: "http".into(),
            network: crate::spec::Network::Tcp,
            fd: Some(OwnedFd::from(socket)),
            taken: true,
            managers: false,
            served_beside: false,
            unbound: None,
        };
        let listeners = Arc::new(std::sync::Mutex::new(vec![listener]));
        let (lameduck, phase) = crate::lameduck::Lameduck::new(listeners, grace, true, false);
        let timing = Timing {
            phase: phase.clone(),
            lameduck_timeout: grace + Duration::from_secs(10),
            grace,
            accepted: lameduck.accepted(),
        };
        let ctx = Context::new(Arc::default(), timing, None, Vec::new(), String::new());
        let inner = tokio::net::TcpListener::from_std(program).unwrap();
        let listener = TcpListener::new(inner, phase, lameduck.accepted());
        (lameduck, ctx, listener, addr)
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

    /// Reads the rest of `conn`, which must be nothing but its close.
    async fn closed(conn: &mut TcpStream) {
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "{rest:?}");
    }

    type Serve = fn(Context, TcpListener) -> JoinHandle<io::Result<()>>;

    fn serve_hi(ctx: Context, listener: TcpListener) -> JoinHandle<io::Result<()>> {
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
        tokio::spawn(async move { super::serve(&ctx, listener, app).await })
    }

    /// The drain as a keep-alive client sees it: no `Connection: close`
    /// while serving; with no grace (so no spread), `Connection: close` on
    /// the first response once draining and the connection closed after
    /// it; at lameduck the helper returns.
    async fn drains_keep_alive(serve: Serve) {
        let (phase, since, mut conn, server) = draining_after_an_exchange(serve).await;
        closes_and_returns_at_lameduck(&phase, since, &mut conn, server).await;
    }

    /// The helper `serve` runs with no grace; a keep-alive connection to
    /// it is answered once while serving (no `Connection: close`), then
    /// draining begins: the phase, when draining began, the connection,
    /// the helper's task.
    async fn draining_after_an_exchange(
        serve: Serve,
    ) -> (
        watch::Sender<Phase>,
        Instant,
        TcpStream,
        JoinHandle<io::Result<()>>,
    ) {
        let (phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let server = serve(ctx, listener);
        let mut conn = TcpStream::connect(addr).await.unwrap();
        assert!(!exchange(&mut conn).await.contains("connection: close"));
        let since = Instant::now();
        phase.send_replace(Phase::Draining(since));
        (phase, since, conn, server)
    }

    /// The next response on `conn` says `Connection: close` and the
    /// connection closes; at lameduck (draining began at `since`), the
    /// helper `server` returns.
    async fn closes_and_returns_at_lameduck(
        phase: &watch::Sender<Phase>,
        since: Instant,
        conn: &mut TcpStream,
        server: JoinHandle<io::Result<()>>,
    ) {
        assert!(exchange(conn).await.contains("connection: close"));
        closed(conn).await;
        returns_at_lameduck(phase, since, server).await;
    }

    /// At lameduck (draining began at `since`), the helper `server`
    /// returns.
    async fn returns_at_lameduck(
        phase: &watch::Sender<Phase>,
        since: Instant,
        server: JoinHandle<io::Result<()>>,
    ) {
        phase.send_replace(Phase::Lameduck(since));
        tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, server)
            .await
            .expect("the helper returns at lameduck")
            .unwrap()
            .unwrap();
    }

    /// A request whose bytes reached an idle keep-alive connection just
    /// before lameduck, not yet read, is answered (`Connection: close`),
    /// not reset with the connection's close.
    async fn answers_a_request_arriving_at_lameduck(serve: Serve) {
        let (phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let server = serve(ctx, listener);
        let mut conn = TcpStream::connect(addr).await.unwrap();
        assert!(!exchange(&mut conn).await.contains("connection: close"));
        // The request, then lameduck, with no await in between: the
        // server's tasks run only after both. (Loopback has the bytes in
        // the server's socket when `try_write` returns.)
        let request = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";
        assert_eq!(conn.try_write(request).unwrap(), request.len());
        phase.send_replace(Phase::Lameduck(Instant::now()));
        answered_with_close(&mut conn, server).await;
    }

    /// The request sent on `conn` is answered (200, `Connection: close`),
    /// the connection then closed, and the helper `server` returns.
    async fn answered_with_close(conn: &mut TcpStream, server: JoinHandle<io::Result<()>>) {
        answer_with_close(conn).await;
        tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, server)
            .await
            .expect("the helper returns")
            .unwrap()
            .unwrap();
    }

    /// All `conn` is sent until its close, lowercased: an answer (200,
    /// `Connection: close`), not a reset.
    async fn answer_with_close(conn: &mut TcpStream) -> String {
        let mut response = Vec::new();
        conn.read_to_end(&mut response)
            .await
            .expect("the connection was reset, its request unanswered");
        let response = String::from_utf8_lossy(&response).to_ascii_lowercase();
        assert!(response.starts_with("http/1.1 200"), "{response}");
        assert!(response.contains("connection: close"), "{response}");
        response
    }

    #[tokio::test]
    async fn serve_answers_a_request_arriving_at_lameduck() {
        answers_a_request_arriving_at_lameduck(serve_hi).await;
    }

    /// A response that closes (`Connection: close`) arrives whole though
    /// the client sent more than hyper read (a pipelined request, say)
    /// and reads it only after the server is done: the close lingers,
    /// reading what came until the client closes, rather than reset the
    /// connection, which would drop the response's end still queued.
    #[tokio::test]
    async fn serve_lingers_at_a_close_so_the_last_response_arrives_whole() {
        const BIG: usize = 1024 * 1024;
        let (_phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let app =
            axum::Router::new().route("/big", axum::routing::get(|| async { "x".repeat(BIG) }));
        let accepted = listener.accepted();
        let server = tokio::spawn(async move { super::serve(&ctx, listener, app).await });
        // A small receive buffer: most of the response waits in the
        // server's send queue while the client does not read.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        let mut conn = socket.connect(addr).await.unwrap();
        let mut sent = b"GET /big HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".to_vec();
        sent.resize(sent.len() + 64 * 1024, b'x');
        conn.write_all(&sent).await.unwrap();
        // The client reads only once the server has answered and closed
        // (after its linger, or at once with a reset).
        let mut first = [0; 1];
        conn.peek(&mut first).await.unwrap();
        tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, async {
            while !accepted.all_closed() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the server closed the connection");
        let mut response = Vec::new();
        conn.read_to_end(&mut response)
            .await
            .expect("the connection was reset");
        let at = (response.windows(4))
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
            + 4;
        assert!(response.starts_with(b"HTTP/1.1 200"));
        assert_eq!(response.len() - at, BIG, "the body arrived cut");
        drop(conn);
        server.abort();
    }

    /// Two requests pipelined in one write while draining: the first is
    /// answered whole with `Connection: close`, the second not at all (it
    /// came after the close was said), and the connection ends with its
    /// close, not a reset that could cut the first answer.
    #[tokio::test]
    async fn serve_answers_the_first_of_pipelined_requests_while_draining_and_closes() {
        let (phase, since, mut conn, server) = draining_after_an_exchange(serve_hi).await;
        let request = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
        conn.write_all(request.repeat(2).as_bytes()).await.unwrap();
        let response = answer_with_close(&mut conn).await;
        assert!(response.ends_with("\r\n\r\nhi"), "{response}");
        assert_eq!(response.matches("http/1.1").count(), 1, "{response}");
        returns_at_lameduck(&phase, since, server).await;
    }

    /// A request whose head hyper has partly read by lameduck (a head in
    /// two segments) is answered once the rest comes (`Connection:
    /// close`), not cut off as an idle connection's close.
    async fn answers_a_request_half_read_at_lameduck(serve: Serve) {
        let (phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let server = serve(ctx, listener);
        let mut conn = TcpStream::connect(addr).await.unwrap();
        assert!(!exchange(&mut conn).await.contains("connection: close"));
        conn.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
        // Read by hyper now or (the shutdown looks until its socket has
        // nothing unread) at lameduck.
        phase.send_replace(Phase::Lameduck(Instant::now()));
        // The shutdown's looks at the socket (10 to 20 ms) are over by
        // then: a close would have come.
        tokio::time::sleep(Duration::from_millis(100)).await;
        conn.write_all(b"st: test\r\n\r\n").await.unwrap();
        answered_with_close(&mut conn, server).await;
    }

    #[tokio::test]
    async fn serve_answers_a_request_half_read_at_lameduck() {
        answers_a_request_half_read_at_lameduck(serve_hi).await;
    }

    /// The helper turns `TCP_DEFER_ACCEPT` on for the socket it serves
    /// (30 s, read back as 31 on the kernel's schedule).
    async fn defers_silent_connections(serve: Serve) {
        use std::os::fd::AsFd;
        let (_phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let socket = listener.as_fd().try_clone_to_owned().unwrap();
        assert_eq!(
            crate::defer_accept::deferral(socket.as_fd()).unwrap(),
            Duration::ZERO
        );
        let _server = serve(ctx, listener);
        // Answered: the helper has started, and set the option first.
        let mut conn = TcpStream::connect(addr).await.unwrap();
        exchange(&mut conn).await;
        assert_eq!(
            crate::defer_accept::deferral(socket.as_fd()).unwrap(),
            Duration::from_secs(31)
        );
    }

    #[tokio::test]
    async fn serve_defers_silent_connections() {
        defers_silent_connections(serve_hi).await;
    }

    /// Draining with no connection open ends the helper well before the
    /// grace would (lameduck comes early); a silent connection holds it
    /// until it closes. The helper ends at lameduck, not before: draining
    /// with nothing open is not enough (a hand-over may come).
    async fn finishes_when_nothing_is_open(serve: Serve) {
        let (lameduck, ctx, listener, addr) = with_lameduck(Duration::from_secs(60));
        let mut server = serve(ctx, listener);
        let mut silent = TcpStream::connect(addr).await.unwrap();
        // Answered, so the server has accepted it.
        assert!(!exchange(&mut silent).await.contains("connection: close"));
        lameduck.begin();
        let early = tokio::time::timeout(Duration::from_millis(300), &mut server).await;
        assert!(early.is_err(), "returned with a connection open");
        drop(silent);
        tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, server)
            .await
            .expect("returns once the last connection closes, well before the grace")
            .unwrap()
            .unwrap();
    }

    /// Draining alone, nothing open, does not end the helper: lameduck does.
    async fn ends_at_lameduck_not_at_draining(serve: Serve) {
        let (phase, ctx, listener, _addr) = setup(Duration::ZERO).await;
        let mut server = serve(ctx, listener);
        let since = Instant::now();
        phase.send_replace(Phase::Draining(since));
        let early = tokio::time::timeout(Duration::from_millis(300), &mut server).await;
        assert!(early.is_err(), "returned before lameduck");
        phase.send_replace(Phase::Lameduck(since));
        tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, server)
            .await
            .expect("returns at lameduck")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn serve_ends_at_lameduck_not_at_draining() {
        ends_at_lameduck_not_at_draining(serve_hi).await;
    }

    /// Under keep-alive load the closes are spread: connections sending
    /// requests in a loop once draining has begun each see
    /// `Connection: close` at a time of their own, not all at once, and
    /// all within the spread (half the grace) plus a margin. With every
    /// connection closed, the helper returns (lameduck comes early).
    async fn spreads_the_closes(serve: Serve) {
        const CONNECTIONS: usize = 20;
        // Long enough that a loaded machine's pause of a few hundred
        // milliseconds (before the first requests go out, between two of
        // a connection's) cannot bunch the closes or push the last late.
        let grace = Duration::from_secs(4);
        let spread = grace / 2;
        let (lameduck, ctx, listener, addr) = with_lameduck(grace);
        let server = serve(ctx, listener);
        let mut conns = Vec::new();
        for _ in 0..CONNECTIONS {
            let mut conn = TcpStream::connect(addr).await.unwrap();
            // Answered, so accepted (and given its close time) before
            // draining begins.
            assert!(!exchange(&mut conn).await.contains("connection: close"));
            conns.push(conn);
        }

        let since = Instant::now();
        lameduck.begin();
        // Times are when each request was sent: the server decides after
        // that, so a connection kept alive was sent before its close time,
        // within the spread, however loaded the machine. The first request
        // sent after the last one kept alive closes; the margin is for the
        // gap between the two on a loaded machine.
        let deadline = spread + Duration::from_secs(1);
        let clients: Vec<_> = conns
            .into_iter()
            .map(|mut conn| {
                tokio::spawn(async move {
                    loop {
                        let sent = since.elapsed();
                        let head = exchange(&mut conn).await;
                        if head.contains("connection: close") {
                            closed(&mut conn).await;
                            return sent;
                        }
                        assert!(sent < spread, "kept alive, sent {sent:?} into draining");
                        // Not a busy loop beside the other tests.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                })
            })
            .collect();
        let mut closes = Vec::new();
        for client in clients {
            let at = tokio::time::timeout(Duration::from_secs(20), client)
                .await
                .expect("every connection closes")
                .unwrap();
            closes.push(at);
        }
        closes.sort();
        let (first, last) = (closes[0], closes[CONNECTIONS - 1]);
        assert!(last < deadline, "the last closed {last:?} into draining");
        // Uniform close times: the chance that these fail is below 1e-5.
        assert!(last - first >= spread / 4, "bunched: {closes:?}");
        let early = closes.iter().filter(|at| **at < spread / 4).count();
        let late = closes.iter().filter(|at| **at > spread * 3 / 4).count();
        assert!(early < CONNECTIONS * 3 / 4, "bunched early: {closes:?}");
        assert!(late < CONNECTIONS * 3 / 4, "bunched late: {closes:?}");

        tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, server)
            .await
            .expect("returns once every connection has closed")
            .unwrap()
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serve_spreads_the_closes_of_keep_alive_connections() {
        spreads_the_closes(serve_hi).await;
    }

    /// Whether an HTTP/2 client of `serve` is told it may open WebSockets
    /// (extended CONNECT, RFC 8441).
    async fn offers_websockets_over_http2(serve: Serve) -> bool {
        let (_phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let _server = serve(ctx, listener);
        let conn = TcpStream::connect(addr).await.unwrap();
        let (client, connection) = h2::client::handshake(conn).await.unwrap();
        tokio::spawn(connection);
        // The server's SETTINGS come with its first frames: a request's
        // answer has surely been preceded by them.
        let mut client = client.ready().await.unwrap();
        let request = Request::get("http://test/").body(()).unwrap();
        let (response, _) = client.send_request(request, true).unwrap();
        response.await.unwrap();
        client.is_extended_connect_protocol_enabled()
    }

    /// An HTTP/2 stream in flight at lameduck is answered whole; the
    /// connection then ends gracefully (a GOAWAY, then its close: the
    /// client's connection ends without error, no stream reset), and the
    /// helper returns.
    #[tokio::test]
    async fn serve_finishes_an_http2_stream_in_flight_then_goes_away() {
        let (phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let (began, mut handler_began) = tokio::sync::mpsc::unbounded_channel::<()>();
        // Answered only once lameduck has come: in flight then, however
        // slow the machine.
        let lameduck = Arc::new(tokio::sync::Notify::new());
        let answer = lameduck.clone();
        let slow = axum::routing::get(move || {
            let _ = began.send(());
            let answer = answer.clone();
            async move {
                answer.notified().await;
                "slow"
            }
        });
        let app = axum::Router::new().route("/slow", slow);
        let server = tokio::spawn(async move { super::serve(&ctx, listener, app).await });
        let conn = TcpStream::connect(addr).await.unwrap();
        let (client, connection) = h2::client::handshake(conn).await.unwrap();
        let connection = tokio::spawn(connection);
        let mut client = client.ready().await.unwrap();
        let request = Request::get("http://test/slow").body(()).unwrap();
        let (response, _) = client.send_request(request, true).unwrap();
        handler_began.recv().await.unwrap();
        let since = Instant::now();
        phase.send_replace(Phase::Draining(since));
        phase.send_replace(Phase::Lameduck(since));
        // The client hears the helper's GOAWAY before the stream is
        // answered: a helper cutting the stream with it would fail here.
        let told = async {
            loop {
                match client.clone().ready().await {
                    Err(goaway) => break goaway,
                    Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        };
        let goaway = tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, told)
            .await
            .expect("no GOAWAY at lameduck");
        assert!(goaway.is_go_away(), "{goaway}");
        lameduck.notify_one();
        let response = response.await.expect("the stream in flight was reset");
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        let mut got = Vec::new();
        while let Some(chunk) = body.data().await {
            got.extend_from_slice(&chunk.expect("the body was cut"));
        }
        assert_eq!(got, b"slow");
        drop(client);
        tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, connection)
            .await
            .expect("the connection was held open")
            .unwrap()
            .expect("the connection ended with an error, not a GOAWAY");
        tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, server)
            .await
            .expect("the helper returns")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn serve_offers_websockets_over_http2() {
        assert!(offers_websockets_over_http2(serve_hi).await);
    }

    /// A client that connected and sent its request while the program
    /// was not accepting, then a refusal (a stop, bypass mode's SIGTERM):
    /// the helper, started only then, still answers it.
    async fn answers_what_a_refusal_took_off_the_queue(serve: Serve) {
        let (lameduck, ctx, listener, addr) = with_lameduck(Duration::from_secs(5));
        let mut queued = TcpStream::connect(addr).await.unwrap();
        queued
            .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        lameduck.begin();
        let server = serve(ctx, listener);
        let mut answer = Vec::new();
        let read = queued.read_to_end(&mut answer);
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("answered and closed")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        assert!(answer.starts_with("http/1.1 200"), "{answer}");
        assert!(answer.contains("connection: close"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nhi"), "{answer}");
        // Nothing else open: lameduck comes early, and the helper ends.
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the helper returns")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn serve_answers_what_a_refusal_took_off_the_queue() {
        answers_what_a_refusal_took_off_the_queue(serve_hi).await;
    }

    #[tokio::test]
    async fn serve_finishes_early_when_draining_leaves_nothing_open() {
        finishes_when_nothing_is_open(serve_hi).await;
    }

    #[tokio::test]
    async fn serve_drains_keep_alive_connections() {
        drains_keep_alive(serve_hi).await;
    }

    /// A connection whose gap between requests says its next one would
    /// come after lameduck is told `Connection: close` before its close
    /// time (else its next request races the close of its idle connection
    /// at lameduck).
    async fn closes_where_the_next_request_would_miss_lameduck(serve: Serve) {
        // A 100 ms grace: close times within its first 50 ms.
        let (phase, ctx, listener, addr) = setup(Duration::from_millis(100)).await;
        let server = serve(ctx, listener);
        let mut slow = TcpStream::connect(addr).await.unwrap();
        assert!(!exchange(&mut slow).await.contains("connection: close"));
        // The gap to measure: longer than the grace.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let since = Instant::now();
        phase.send_replace(Phase::Draining(since));
        closes_and_returns_at_lameduck(&phase, since, &mut slow, server).await;
        // (One whose client comes back sooner is kept until its close
        // time: spreads_the_closes, and the unit tests of the rule.)
    }

    #[tokio::test]
    async fn serve_closes_where_the_next_request_would_miss_lameduck() {
        closes_where_the_next_request_would_miss_lameduck(serve_hi).await;
    }

    /// An axum app answering with the peer's address, from `ConnectInfo`.
    fn peer_app() -> axum::Router {
        use axum::extract::ConnectInfo;
        axum::Router::new().route(
            "/",
            axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                peer.to_string()
            }),
        )
    }

    /// Handlers see the peer's address as `ConnectInfo`, as with axum's
    /// `into_make_service_with_connect_info`, served either way.
    #[tokio::test]
    async fn serve_gives_handlers_the_peers_address() {
        gives_handlers_the_peers_address(|ctx, listener| {
            tokio::spawn(async move { super::serve(&ctx, listener, peer_app()).await })
        })
        .await;
    }

    async fn gives_handlers_the_peers_address(serve: Serve) {
        let (_phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let _server = serve(ctx, listener);
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let me = conn.local_addr().unwrap().to_string();
        conn.write_all(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        conn.read_to_end(&mut response).await.unwrap();
        let response = String::from_utf8(response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with(&format!("\r\n\r\n{me}")), "{response}");
    }

    /// An HTTP/1.0 client that asks for keep-alive is told, once draining,
    /// `Connection: close` (which hyper would turn into `keep-alive` on
    /// a 1.1 response), and the connection closes after the response.
    async fn closes_http10_keep_alive(serve: Serve) {
        const REQUEST: &[u8] = b"GET / HTTP/1.0\r\nHost: test\r\nConnection: keep-alive\r\n\r\n";
        let (phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let _server = serve(ctx, listener);
        let mut conn = TcpStream::connect(addr).await.unwrap();
        // Kept alive while serving (so accepted before draining begins).
        conn.write_all(REQUEST).await.unwrap();
        let mut first = Vec::new();
        while !first.ends_with(b"\r\n\r\nhi") {
            let mut chunk = [0; 1024];
            let n = conn.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed: {:?}", String::from_utf8_lossy(&first));
            first.extend_from_slice(&chunk[..n]);
        }
        let first = String::from_utf8(first).unwrap().to_ascii_lowercase();
        assert!(first.contains("connection: keep-alive\r\n"), "{first}");
        phase.send_replace(Phase::Draining(Instant::now()));
        conn.write_all(REQUEST).await.unwrap();
        let mut response = Vec::new();
        conn.read_to_end(&mut response).await.unwrap();
        let response = String::from_utf8(response).unwrap().to_ascii_lowercase();
        let connection: Vec<&str> = response
            .lines()
            .filter_map(|l| l.strip_prefix("connection: "))
            .collect();
        assert_eq!(connection, ["close"], "{response}");
        assert!(response.ends_with("\r\n\r\nhi"), "{response}");
    }

    #[tokio::test]
    async fn serve_closes_http10_keep_alive_without_a_keep_alive_token() {
        closes_http10_keep_alive(serve_hi).await;
    }

    /// An upgrade handler: answers 101 and, on the upgraded connection,
    /// waits for the client's `bye` and answers `ok` (as a WebSocket
    /// handler closing on its own terms).
    async fn upgrade<B>(mut request: Request<B>) -> Response<String> {
        let on = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let mut io = hyper_util::rt::TokioIo::new(on.await.unwrap());
            let mut bye = [0; 3];
            io.read_exact(&mut bye).await.unwrap();
            io.write_all(b"ok").await.unwrap();
        });
        switching_to_test()
    }

    /// A `101` to the `test` protocol.
    fn switching_to_test() -> Response<String> {
        let mut response = Response::new(String::new());
        *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(http::header::CONNECTION, "upgrade".parse().unwrap());
        headers.insert(http::header::UPGRADE, "test".parse().unwrap());
        response
    }

    /// Sends an upgrade request to the `test` protocol on `conn` and reads
    /// the answer's head, which must be a `101`.
    async fn upgraded(conn: &mut TcpStream) {
        ask_upgrade(conn).await;
        let head = response_head(conn).await;
        assert!(head.starts_with("http/1.1 101"), "{head}");
    }

    /// An upgrade request to the `test` protocol.
    const ASK_UPGRADE: &[u8] =
        b"GET / HTTP/1.1\r\nHost: test\r\nConnection: upgrade\r\nUpgrade: test\r\n\r\n";

    /// Sends [`ASK_UPGRADE`] on `conn`.
    async fn ask_upgrade(conn: &mut TcpStream) {
        conn.write_all(ASK_UPGRADE).await.unwrap();
    }

    /// Reads a response head on `conn` (and no more), lowercased.
    async fn response_head(conn: &mut TcpStream) -> String {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0; 1];
            assert_eq!(conn.read(&mut byte).await.unwrap(), 1, "closed: {head:?}");
            head.push(byte[0]);
        }
        String::from_utf8(head).unwrap().to_ascii_lowercase()
    }

    /// Says `bye` on `conn`, upgraded by [`upgrade`]'s handler, and reads
    /// its `ok`; then `server` returns, the connection done.
    async fn bye_then_returns(conn: &mut TcpStream, server: JoinHandle<io::Result<()>>) {
        conn.write_all(b"bye").await.unwrap();
        let mut ok = [0; 2];
        conn.read_exact(&mut ok).await.unwrap();
        assert_eq!(&ok, b"ok");
        tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, server)
            .await
            .expect("returns once the upgraded connection is done")
            .unwrap()
            .unwrap();
    }

    /// An upgraded connection's shutdown is its handler's: it does not
    /// linger reading for itself (as a close hyper makes does), so what
    /// the client sends after it (a tunnel's other direction, a
    /// WebSocket's closing reply) reaches the handler.
    #[tokio::test]
    async fn serve_leaves_an_upgraded_connections_shutdown_to_its_handler() {
        let (read_tx, read_rx) = tokio::sync::oneshot::channel::<Vec<u8>>();
        let read_tx = Arc::new(std::sync::Mutex::new(Some(read_tx)));
        let handler = move |mut request: axum::extract::Request| {
            let read_tx = read_tx.clone();
            async move {
                let on = hyper::upgrade::on(&mut request);
                tokio::spawn(async move {
                    let mut io = hyper_util::rt::TokioIo::new(on.await.unwrap());
                    io.shutdown().await.unwrap();
                    let mut rest = Vec::new();
                    io.read_to_end(&mut rest).await.unwrap();
                    let tx = read_tx.lock().unwrap().take().unwrap();
                    let _ = tx.send(rest);
                });
                switching_to_test()
            }
        };
        let app = axum::Router::new().route("/", axum::routing::get(handler));
        let (_phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let server = tokio::spawn(async move { super::serve(&ctx, listener, app).await });
        let mut conn = TcpStream::connect(addr).await.unwrap();
        upgraded(&mut conn).await;
        // The handler's shutdown: the end here.
        closed(&mut conn).await;
        conn.write_all(b"late").await.unwrap();
        conn.shutdown().await.unwrap();
        let read = tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, read_rx)
            .await
            .expect("the handler read to the end")
            .unwrap();
        assert_eq!(read, b"late");
        server.abort();
    }

    /// Sends `request`, an upgrade to `test`; once its handler has begun
    /// (having read the body, `abc` if it asks for a `100 Continue`) and while it takes a
    /// moment to answer (a lookup, say: the scenario), lameduck. The `101`
    /// (after hyper's `100 Continue`, with a body) says `Connection:
    /// upgrade` alone, not `close` beside it (which hyper, told to shut
    /// down meanwhile, would add).
    async fn answers_an_upgrade_in_flight_at_lameduck_without_close(request: &'static [u8]) {
        let with_body = request
            .windows(b"Expect: 100-continue".len())
            .any(|w| w == b"Expect: 100-continue");
        let (called_tx, called_rx) = tokio::sync::oneshot::channel::<()>();
        let called_tx = Arc::new(std::sync::Mutex::new(Some(called_tx)));
        let handler = move |request: axum::extract::Request| {
            let called_tx = called_tx.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1024).await.unwrap();
                assert_eq!(&body[..], if with_body { &b"abc"[..] } else { b"" });
                if let Some(called) = called_tx.lock().unwrap().take() {
                    let _ = called.send(());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                upgrade(Request::from_parts(parts, axum::body::Body::empty())).await
            }
        };
        let app = axum::Router::new().route("/", axum::routing::any(handler));
        let (phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let server = tokio::spawn(async move { super::serve(&ctx, listener, app).await });
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(request).await.unwrap();
        called_rx.await.unwrap();
        let since = Instant::now();
        phase.send_replace(Phase::Draining(since));
        phase.send_replace(Phase::Lameduck(since));
        if with_body {
            let interim = response_head(&mut conn).await;
            assert!(interim.starts_with("http/1.1 100"), "{interim}");
        }
        let head = response_head(&mut conn).await;
        assert!(head.starts_with("http/1.1 101"), "{head}");
        assert!(!head.contains("close"), "{head}");
        bye_then_returns(&mut conn, server).await;
    }

    #[tokio::test]
    async fn an_upgrade_in_flight_at_lameduck_is_answered_without_close() {
        answers_an_upgrade_in_flight_at_lameduck_without_close(ASK_UPGRADE).await;
    }

    /// The request carrying a body with `Expect: 100-continue`, sent at
    /// once: hyper's `100 Continue`, written as the handler reads the
    /// body, is no answer to the upgrade.
    #[tokio::test]
    async fn an_upgrade_in_flight_at_lameduck_past_a_100_continue_is_answered_without_close() {
        answers_an_upgrade_in_flight_at_lameduck_without_close(
            b"POST / HTTP/1.1\r\nHost: test\r\nConnection: upgrade\r\nUpgrade: test\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        )
        .await;
    }

    /// A connection whose upgrade was refused (`curl --http2`'s `h2c`,
    /// answered as plain HTTP/1.1) and kept alive, idle at lameduck, is
    /// closed then, not after the wait for an upgrade's answer.
    #[tokio::test]
    async fn an_idle_connection_once_refused_an_upgrade_closes_at_lameduck() {
        let (phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let server = serve_hi(ctx, listener);
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(
            b"GET / HTTP/1.1\r\nHost: test\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n",
        )
        .await
        .unwrap();
        let head = response_head(&mut conn).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let mut hi = [0; 2];
        conn.read_exact(&mut hi).await.unwrap();
        let since = Instant::now();
        phase.send_replace(Phase::Draining(since));
        phase.send_replace(Phase::Lameduck(since));
        // Well before the 500 ms an upgrade's answer is waited for.
        tokio::time::timeout(Duration::from_millis(400), closed(&mut conn))
            .await
            .expect("closed at lameduck");
        tokio::time::timeout(ENDS_WELL_BEFORE_THE_BOUND, server)
            .await
            .expect("the helper returns at lameduck")
            .unwrap()
            .unwrap();
    }

    fn serve_upgrade(ctx: Context, listener: TcpListener) -> JoinHandle<io::Result<()>> {
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(|request: axum::extract::Request| upgrade(request)),
        );
        tokio::spawn(async move { super::serve(&ctx, listener, app).await })
    }

    /// An upgraded connection still open at lameduck keeps the helper
    /// (within its bound) until its handler is done with it: hyper's part
    /// ended at the upgrade, and returning then would cut it.
    async fn waits_for_upgraded_connections(serve: Serve) {
        let (phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let mut server = serve(ctx, listener);
        let mut conn = TcpStream::connect(addr).await.unwrap();
        upgraded(&mut conn).await;
        let since = Instant::now();
        phase.send_replace(Phase::Draining(since));
        phase.send_replace(Phase::Lameduck(since));
        let early = tokio::time::timeout(Duration::from_millis(300), &mut server).await;
        assert!(early.is_err(), "returned with an upgraded connection open");
        bye_then_returns(&mut conn, server).await;
    }

    #[tokio::test]
    async fn serve_waits_for_upgraded_connections() {
        waits_for_upgraded_connections(serve_upgrade).await;
    }

    #[tokio::test]
    async fn serve_service_ends_the_connections_it_gives_up_on() {
        let (phase, ctx, listener, addr) = setup(Duration::ZERO).await;
        let (entered_tx, mut entered) = tokio::sync::mpsc::channel::<()>(1);
        let (held, mut released) = tokio::sync::mpsc::channel::<()>(1);
        // A request that never finishes, holding `held` while it runs.
        let service = tower::service_fn(move |_: Request<Incoming>| {
            let (entered_tx, held) = (entered_tx.clone(), held.clone());
            async move {
                let _ = entered_tx.send(()).await;
                let _held = held;
                std::future::pending::<Result<Response<String>, Infallible>>().await
            }
        });
        let server =
            tokio::spawn(async move { super::serve_service(&ctx, listener, service).await });
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        entered.recv().await.unwrap();
        // Lameduck came 9.75 s ago: the 10 s timeout's budget is spent.
        let since = Instant::now()
            .checked_sub(Duration::from_millis(9750))
            .expect("a monotonic clock past 10 s");
        phase.send_replace(Phase::Lameduck(since));
        server.await.unwrap().unwrap();
        // The request's task went with the helper's return.
        let ended = tokio::time::timeout(Duration::from_secs(5), released.recv()).await;
        assert_eq!(ended, Ok(None), "the connection outlived the helper");
        closed(&mut conn).await;
    }
}
