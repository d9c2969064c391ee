//! Serving HTTP with the drain done right (the `http` cargo feature).
//!
//! [`serve`] runs an axum `Router`, [`serve_service`] any tower service on
//! hyper-util's auto builder (HTTP/1 and HTTP/2), until lameduck, and
//! return once the connections have drained. On top of what the listener
//! and the two-phase lameduck already do (see
//! [`TcpListener`](crate::TcpListener)), they:
//!
//! - answer every HTTP/1 response with `Connection: close` once draining
//!   has begun ([`CloseWhenDrainingLayer`]), so that keep-alive clients
//!   take their next request to the new child instead of racing the close
//!   of an idle connection;
//! - at lameduck, close idle HTTP/1 connections, let each request in
//!   flight finish (its connection closes after the response) and send
//!   HTTP/2 connections a graceful GOAWAY (hyper's graceful shutdown);
//! - finish as soon as draining has begun and no connection is left open,
//!   rather than waiting out the grace (it is there for connections that
//!   have not spoken yet, and there are none);
//! - give up on connections still open when the lameduck timeout is about
//!   to end, so that `main` returns before the supervisor kills it.
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
mod drain;
mod open;
mod per_connection;
mod serve;
mod spread;

pub use close::{CloseWhenDraining, CloseWhenDrainingLayer};
pub use serve::{serve, serve_service};
