//! Version 1 of the `argv` service: answers each connection on `http`
//! with `v1 PID ARGS…` (its own arguments) until lameduck; given
//! `--linger-ms=N`, stays N ms after it, or while the file `LINGER_GATE`
//! names exists (8 s at most: with the 1 s grace before it, within its
//! 10 s lameduck timeout), for a
//! test to find it there.

#[littleboss::main(name = "argv", listener(http = "tcp:127.0.0.1:0"), lameduck = "10s")]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("http").expect("http listener");
    let pid = std::process::id();
    let args = ctx.args()[1..].join(" ");
    println!(
        "argv v1 pid={pid} http={} args=[{args}]",
        listener.local_addr().unwrap()
    );
    tests::fixture::serve_greetings(listener, format!("v1 {pid} {args}"), ctx.lameduck()).await;
    let linger = ctx.args().iter().find_map(|a| {
        a.strip_prefix("--linger-ms=")
            .map(|ms| ms.parse().expect("--linger-ms=N"))
    });
    if let Some(ms) = linger {
        println!("argv v1 pid={pid} lingering");
        let otherwise = std::time::Duration::from_millis(ms);
        tests::fixture::hold_while_gated(
            "LINGER_GATE",
            std::time::Duration::from_secs(8),
            otherwise,
        )
        .await;
    }
}
