//! Bare `axum::serve` with `with_graceful_shutdown(ctx.lameduck())`, and
//! nothing else: the README's `axum::serve` snippet (but for its name,
//! address and two log lines, which a test checks), at the defaults a
//! user gets, kept to show what the helper fixes. It
//! refuses no connection and loses no request made on a new connection by
//! a client that speaks within the grace, but under keep-alive load it
//! loses the requests that race the close of
//! idle kept-alive connections at lameduck: axum never answers with
//! `Connection: close` while draining (`littleboss::http::serve`, or
//! `littleboss::http::CloseWhenDrainingLayer` on the router, does). The
//! benchmark (`drain_bench`) measures it next to the `readme` snippet and
//! the `http` example (both the helper) and the `plain` accept loop.
//!
//! ```text
//! cargo build -p examples --bin axum_serve
//! target/debug/axum_serve -littleboss=start &
//! curl -i http://127.0.0.1:8083/
//! target/debug/axum_serve -littleboss=reload
//! ```
//!
//! It accepts a connection at once, silent or not, so a client that has
//! not sent its request within the grace (1 s by default) when its old
//! child reaches lameduck is closed unanswered: the benchmark's slow
//! clients, silent up to 3 s, show it. Nor does it bound its wait for
//! the requests still running at lameduck (a `/slow` of 5 s past the 2 s
//! lameduck timeout): the supervisor kills the old child then, cutting
//! them; the README shows the bound (`ctx.drain_budget()`) to add.

#[littleboss::main(name = "littleboss-axum-serve", listener(https = "tcp:127.0.0.1:8083"))]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("https").expect("https listener enabled");
    examples::log_line(format!(
        "axum_serve: pid {} serving http://{}/",
        std::process::id(),
        listener.local_addr().unwrap()
    ));
    axum::serve(listener, app())
        .with_graceful_shutdown(ctx.lameduck())
        .await
        .unwrap();
    examples::log_line(format!(
        "axum_serve: pid {} drained, exiting",
        std::process::id()
    ));
}

fn app() -> axum::Router {
    examples::app::app()
}
