//! Serving HTTP with the drain done right (the `http` cargo feature).
//!
//! [`serve()`] runs an axum `Router`, [`serve_service`] any tower service
//! that cannot fail (`serve` is it, for a `Router`), on hyper-util's auto builder (HTTP/1
//! and HTTP/2), until lameduck, and both return once the connections
//! have drained. On top of what the listener
//! and the two-phase lameduck already do (see
//! [`TcpListener`](crate::TcpListener)), they:
//!
//! - accept a connection only once its first byte has arrived (Linux's
//!   `TCP_DEFER_ACCEPT`, 30 s, turned on for the listening socket unless
//!   it is on already: see
//!   [`TcpListener::defer_accept`](crate::TcpListener::defer_accept)), so
//!   that a client that connects just before a reload and speaks later is
//!   in no child's hands meanwhile, and the child accepting when it
//!   speaks serves it, however long its silence outlasts the grace (up to
//!   the 31 s deferral);
//! - once draining has begun, answer HTTP/1 responses with
//!   `Connection: close`, so that keep-alive clients take their next
//!   request to the new child instead of racing the close of an idle
//!   connection at lameduck. Not all at once: each connection gets a close
//!   time of its own, drawn uniformly in the first half of the grace
//!   (`ctx.grace() / 2`), and its first response from then on closes it.
//!   Under keep-alive load the clients so reconnect to the new child a few
//!   at a time rather than all within a few milliseconds of the reload.
//!   A connection with a request in the second half of the grace closes
//!   once that response is sent (by lameduck, unless its handler runs
//!   past it). A response before the close time closes too when
//!   the connection's last gap between requests says its next one would
//!   come after lameduck, or when it is the connection's first request.
//!   One quiet from then on is idle at lameduck, and closed as below
//!   (HTTP/1 has no close of an idle connection that cannot cross a
//!   client's next request).
//!   With a zero grace every connection closes on its first response once
//!   draining, as [`CloseWhenDrainingLayer`] always does (a layer sees
//!   requests, not connections);
//! - at lameduck, close idle HTTP/1 connections, let each request in
//!   flight finish (its connection closes after the response) and send
//!   HTTP/2 connections a graceful GOAWAY (hyper's graceful shutdown);
//!   but first read a request that has just arrived on an idle
//!   connection (10 to 20 ms of looking at most), and answer it, and give
//!   a request whose head has partly come up to 500 ms for the rest,
//!   which narrows that race, and, within the same 500 ms, wait for the
//!   answer to a request asking for an upgrade (so its `101` carries no
//!   `close`);
//! - close the connections they close as HTTP/1 asks (the writing half
//!   shut, then what the client still sends read and dropped until it
//!   closes too, for a quarter of the drain budget, 1 s at most, or 256
//!   KiB), so that a pipelined request, a body the handler did not read
//!   or an HTTP/2 client's window updates do not turn the close into a
//!   reset that loses the end of the last response; not a connection on
//!   which an HTTP/1 request asked for an upgrade, whose shutdown is its
//!   handler's;
//! - wait, within the same bound, for connections handed to an upgrade
//!   handler (WebSocket): hyper is done with them at the upgrade, so their
//!   handlers close them, on `ctx.draining()` or `ctx.lameduck()`;
//! - finish as soon as draining has left no connection open, rather than
//!   waiting out the grace (it is there for connections accepted before
//!   they spoke, only those silent past the deferral or made by SYN
//!   cookies here, and for the spread of the closes, and there are none):
//!   they end at lameduck, which littleboss brings early then, told by
//!   the helper the moment its last connection closes (and which, after
//!   a drain begun by the child's own signal, waits for what the
//!   supervisor may still hand over at a stop). Early only once every
//!   connection accepted through `Context`'s listeners has closed (one
//!   open on another listener, or a listener taken out with
//!   `into_inner`, holds it to the grace: see [`Context::lameduck`](crate::Context::lameduck));
//! - give up on connections still open when the lameduck timeout is about
//!   to end, so that `main` returns before the supervisor kills it.
//!
//! What they do not do, as `axum::serve` does not: time out a client
//! while serving. hyper's 30 s header-read timeout needs a timer, and in
//! the hyper 1 releases this crate builds with (1.12) it also runs while
//! a keep-alive connection waits between requests, closing it abruptly
//! at 30 s idle: the very race with a
//! client's next request that the closes above avoid. So a client that
//! trickles its request head, or an HTTP/2 peer gone without a close,
//! holds its connection for as long as it lasts, and at a drain (a first
//! request's head, which gets no 500 ms, or the peer's GOAWAY unanswered)
//! the child until the bound: in front of clients you do not trust, put a
//! reverse proxy with its own timeouts, or serve with hyper yourself.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//!
//! #[littleboss::main(name = "myblog", listener(http = "tcp:127.0.0.1:8080"))]
//! async fn main(ctx: littleboss::Context) -> std::io::Result<()> {
//!     let app = Router::new().route("/", get(|| async { "hello" }));
//!     let listener = ctx.tcp("http").expect("http listener enabled");
//!     littleboss::http::serve(&ctx, listener, app).await
//! }
//! ```

mod close;
mod deferral;
mod drain;
mod graceful;
mod head;
mod open;
mod serve;
mod spread;

pub use close::{CloseFuture, CloseWhenDraining, CloseWhenDrainingLayer};
pub use serve::{serve, serve_service};
