//! The README's usage snippet, as written: `littleboss::http::serve`,
//! which does the whole drain (stop accepting, silent connections left
//! with the kernel until they speak, `Connection: close` while draining,
//! HTTP/2 GOAWAY, in-flight requests finished), plus two log lines: the harness waits for the first, and
//! the second tells a reader of the log when an old child is done. The benchmark (`drain_bench`) measures it next to bare
//! `axum::serve` (`axum_serve`, the README's `axum::serve` snippet), the `http` example
//! (the same helper) and the `plain` accept loop.
//!
//! ```text
//! cargo build -p examples --bin readme
//! target/debug/readme -littleboss=start &
//! curl -i http://127.0.0.1:8081/
//! target/debug/readme -littleboss=reload
//! ```
//!
//! Only the name, the address and the two log lines (with the `?` and
//! `Ok(())` they need) differ from the snippet (a test checks it): the lameduck (2 s) and the grace (1 s) are the defaults a
//! user gets. The benchmark's slow clients, silent for up to 3 s, outlast
//! that grace (`plain` sets 3.5 s; `axum_serve`, at 1 s too, loses them),
//! but the helper does not
//! accept a connection until it speaks, so none is lost. The listener is
//! named `https`, as the snippet's is, but serves cleartext HTTP: TLS is
//! meant to end in front of it (a proxy or load balancer).

#[littleboss::main(name = "littleboss-readme", listener(https = "tcp:127.0.0.1:8081"))]
async fn main(ctx: littleboss::Context) -> std::io::Result<()> {
    let listener = ctx.tcp("https").expect("https listener enabled");
    let pid = std::process::id();
    examples::log_line(format!(
        "readme: pid {pid} serving http://{}/",
        listener.local_addr()?
    ));
    littleboss::http::serve(&ctx, listener, app()).await?;
    examples::log_line(format!("readme: pid {pid} drained, exiting"));
    Ok(())
}

fn app() -> axum::Router {
    examples::app::app()
}
