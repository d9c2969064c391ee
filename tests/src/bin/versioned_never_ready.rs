//! A `versioned` binary with manual readiness that never becomes ready
//! within its 500 ms ready timeout.

#[littleboss::main(
    name = "versioned",
    listener(addr = "tcp:127.0.0.1:0"),
    ready = "manual",
    ready_timeout = "500ms"
)]
async fn main(ctx: littleboss::Context) {
    println!("version 5 never ready pid={}", std::process::id());
    ctx.lameduck().await;
}
