//! Version 1 of the `versioned` service: answers each connection with
//! `v1 PID` until lameduck (and, given `VERSIONED_V1_LINGER_MS`, stays
//! that long after it, for a test to find it still there).

#[littleboss::main(name = "versioned", listener(addr = "tcp:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    let pid = tests::fixture::serve_version(&ctx, "1", "v1").await;
    println!("version 1 pid={pid} done");
    if let Ok(ms) = std::env::var("VERSIONED_V1_LINGER_MS") {
        let ms = ms.parse().expect("VERSIONED_V1_LINGER_MS in ms");
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
}
