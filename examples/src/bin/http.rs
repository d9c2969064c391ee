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
//! The lameduck timeout is 10 s, for `/slow` to finish within it; the
//! grace is the default 1 s (the helper accepts no connection before it
//! speaks, so a slow client needs none of it).

#[littleboss::main(
    name = "littleboss-http",
    listener(http = "tcp:127.0.0.1:8080"),
    lameduck = "10s"
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
