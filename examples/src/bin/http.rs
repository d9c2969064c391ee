//! An HTTP server that is reloaded without refusing a connection: the Go
//! package's README example, in Rust with axum, served by
//! `littleboss::http::serve`, which does the whole drain (stop accepting,
//! silent connections left with the kernel until they speak, `Connection:
//! close` while draining, HTTP/2 GOAWAY, in-flight requests finished
//! within the lameduck timeout).
//!
//! Every response carries an `x-littleboss-pid` header naming the process
//! that served it, so a reload shows up as a change of pid. `/slow?ms=N`
//! answers after N milliseconds (at most 5 000): start one, reload, and it
//! still completes, served by the old child while it drains. `POST /`
//! answers with the length of the body.
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
//! cargo build -p examples --bin http             # (after changing the code, say)
//! curl 'http://127.0.0.1:8080/slow?ms=5000' &     # in flight during the reload...
//! target/debug/http -littleboss=reload            # start child 2, lameduck child 1
//! curl -i http://127.0.0.1:8080/                  # x-littleboss-pid: <child 2>
//! target/debug/http -littleboss=status            # supervisor state
//! target/debug/http -littleboss=stop              # drain and exit
//! ```
//!
//! `-http=127.0.0.1:9000` serves elsewhere; `-h` lists littleboss's flags.
//! The grace is 3.5 s here, longer than the default 1 s, as in the
//! benchmark's `plain` and `axum_serve`, whose slow clients wait up to 3 s
//! before their first byte. The helper needs none of it for those (it
//! accepts no connection before it speaks); what it does change is the
//! spread of its keep-alive closes over the first half: 1.75 s here
//! against the README snippet's 0.5 s, which the benchmark's keep-alive
//! rows show in the open loop (fewer clients reconnecting at once: p99
//! ratios of 3.27 against 3.49 back to back, 1.31 against 2.09 a reload
//! a second), hardly in the closed loop (2.07 against 2.13 back to back,
//! 1.34 against 0.99 a second apart).

#[littleboss::main(
    name = "littleboss-http",
    listener(http = "tcp:127.0.0.1:8080"),
    lameduck = "10s",
    grace = "3500ms"
)]
async fn main(ctx: littleboss::Context) -> std::io::Result<()> {
    let listener = ctx.tcp("http").expect("the http listener is off (-http=)");
    let pid = std::process::id();
    examples::log_line(format!(
        "http: pid {pid} serving http://{}/",
        listener.local_addr()?
    ));
    littleboss::http::serve(&ctx, listener, examples::app::app()).await?;
    examples::log_line(format!("http: pid {pid} drained, exiting"));
    Ok(())
}
