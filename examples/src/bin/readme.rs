//! The README's usage snippet, as written: `axum::serve` with
//! `with_graceful_shutdown(ctx.lameduck())`, nothing else. The benchmark
//! (`drain_bench`) measures it next to the `http` example (the
//! `littleboss::http` helper) and the `plain` accept loop.
//!
//! ```text
//! cargo build -p examples --bin readme
//! target/debug/readme -littleboss=start &
//! curl -i http://127.0.0.1:8081/
//! target/debug/readme -littleboss=reload
//! ```
//!
//! The grace is 3.5 s, as in the other two, for the benchmark's slow
//! clients.

#[littleboss::main(
    name = "littleboss-readme",
    listener(https = "tcp:127.0.0.1:8081"),
    lameduck = "10s",
    grace = "3500ms"
)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("https").expect("https listener enabled");
    examples::log_line(format!(
        "readme: pid {} serving http://{}/",
        std::process::id(),
        listener.local_addr().unwrap()
    ));
    axum::serve(listener, app())
        .with_graceful_shutdown(ctx.lameduck())
        .await
        .unwrap();
    examples::log_line(format!(
        "readme: pid {} drained, exiting",
        std::process::id()
    ));
}

fn app() -> axum::Router {
    examples::app::app()
}
