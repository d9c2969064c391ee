//! Self-supervising binaries.
//!
//! Put one attribute on `main`:
//!
//! ```no_run
//! #[littleboss::main(name = "myblog", listener(http = "tcp:127.0.0.1:8080"))]
//! async fn main(ctx: littleboss::Context) {
//!     let listener = ctx.tcp("http").expect("http listener enabled");
//!     let lameduck = ctx.lameduck();
//!     tokio::pin!(lameduck);
//!     let mut connections = tokio::task::JoinSet::new();
//!     loop {
//!         tokio::select! {
//!             accepted = listener.accept() => match accepted {
//!                 Ok((stream, _peer)) => drop(connections.spawn(serve(stream))),
//!                 // Out of fds, say: wait rather than spin.
//!                 Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
//!             },
//!             Some(_) = connections.join_next() => {} // one finished
//!             () = &mut lameduck => break,
//!         }
//!     }
//!     // The connections it has, within what is left of the lameduck
//!     // timeout (or use `littleboss::http`, which does all of this).
//!     let all_done = async { while connections.join_next().await.is_some() {} };
//!     let _ = tokio::time::timeout(ctx.drain_budget(), all_done).await;
//! }
//! # async fn serve(_: tokio::net::TcpStream) {}
//! ```
//!
//! The program runs directly by default. With `-littleboss=start` it becomes
//! a supervisor: it binds each listener once and holds it while children
//! come and go, and runs the program as a child that receives them over a
//! unix socket. Then:
//!
//! - `newbin -littleboss=reload` starts a child from `newbin` while the old
//!   one keeps serving; once the new child is ready the old one is told to
//!   wind down ([`Context::lameduck`]). Not a connection is refused on the
//!   listeners the reload keeps (one it moves or drops refuses them at its
//!   old address from then on, or, a port-0, UDP or passed socket, holds
//!   them unserved until its close resets them).
//! - `-littleboss=status` prints the supervisor's state (`--json` for JSON).
//! - `-littleboss=stop` winds the child down and exits with its exit code.
//!
//! Listener addresses can be overridden on the command line
//! (`-http=127.0.0.1:9000`, or `-http=` to turn one off). Every other argument
//! reaches the program unchanged through [`Context::args_os`]
//! ([`Context::args`] as UTF-8, lossily), but the help flags (`-h`,
//! `--help`, `-help`, `--h`), which littleboss answers unless the program
//! takes them (`help = false`); `start` and `reload` refuse `--version`
//! (and, with `help = false`, `--help`), which a child would answer and
//! exit on rather than serve.
//!
//! An HTTP server serves its axum router with `littleboss::http::serve`
//! (the `http` feature), which does the whole drain, kept-alive
//! connections included; a bare `axum::serve` with
//! `with_graceful_shutdown(ctx.lameduck())` loses the kept-alive requests
//! that race the close of idle connections at each reload (see
//! [`TcpListener`]):
//!
//! ```no_run
//! # #[cfg(feature = "http")]
//! # async fn f(ctx: littleboss::Context, app: axum::Router) -> std::io::Result<()> {
//! let listener = ctx.tcp("http").expect("http listener enabled");
//! littleboss::http::serve(&ctx, listener, app).await
//! # }
//! ```
//!
//! Programs that prefer no macro use the builder it expands to,
//! [`Littleboss`], whose [`check`](Littleboss::check) reports the same
//! mistakes in the settings as the macro's compile errors, in the same
//! words (the attribute's syntax included: `persist = true` for
//! `.persist(true)`). Mistakes in `main`'s signature are the macro's alone.
//!
//! littleboss runs on Linux only: it relies on `SO_PEERCRED`, `/proc`, and
//! Linux's socket and process semantics.
//!
//! Cargo features, all off by default:
//!
//! - `axum`: [`TcpListener`] and [`UnixListener`] implement
//!   `axum::serve::Listener`, so `axum::serve` takes them;
//! - `http`: the `littleboss::http` module, serving an axum router or a
//!   hyper service with the whole drain done (`axum` with it);
//! - `stream`: `TcpListener::incoming`, the connections as a
//!   `futures_core::Stream`, for servers that take one (tonic);
//! - `test-hooks`: for littleboss's own tests only (timing windows they
//!   widen through `LITTLEBOSS_TEST_*` variables).

#![warn(missing_docs)]

// One clear error rather than hundreds from `nix` and `libc` elsewhere.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "littleboss supports Linux only: it relies on SO_PEERCRED, /proc and Linux socket semantics"
);

mod accepted;
mod activation;
mod arg_bytes;
mod builder;
mod bypass;
mod child;
mod config;
mod config_error;
mod context;
mod control;
mod defer_accept;
mod dispatch;
mod entry;
mod environ;
mod exit;
mod fdpass;
mod flags;
#[cfg(feature = "http")]
pub mod http;
mod ignored;
#[cfg(feature = "stream")]
mod incoming;
mod inherited;
mod invoked;
mod lameduck;
mod link;
mod listener;
mod log;
mod main_result;
mod near_miss;
mod notify;
mod own_file;
mod path_bytes;
mod proc_pid;
mod process_name;
mod repeated;
mod report;
// Shared with littleboss-macros, which uses other parts (the text of
// durations): what one crate leaves unused is not dead.
#[allow(dead_code, unused_imports)]
mod rules;
mod runtime;
mod sigpipe;
mod socket;
mod socket_key;
mod spec;
mod started;
mod stash;
mod supervisor;
mod tcp;
mod test_hook;
mod time_fmt;
mod unix;

// Unit tests that run in a process of their own.
#[cfg(test)]
mod alone;
// The property tests' configuration, and those of the rules (outside
// `rules/`, which the macro crate compiles without proptest).
#[cfg(test)]
mod repeatable;
#[cfg(test)]
mod rules_props;
#[cfg(test)]
mod skipped;

pub use builder::Littleboss;
pub use config::{Flavor, Ready};
pub use config_error::ConfigError;
pub use context::Context;
#[cfg(feature = "stream")]
pub use incoming::Incoming;
pub use littleboss_macros::main;
pub use main_result::MainResult;
pub use rules::{NameKind, RuleError, SpecProblem};
pub use tcp::TcpListener;
pub use unix::UnixListener;
