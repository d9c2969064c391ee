//! A `versioned` binary with manual readiness that never becomes ready
//! within its 2 s ready timeout (which bounds its hello too: short, a
//! loaded machine's slow start would fail it as silent, not unready).

#[littleboss::main(
    name = "versioned",
    listener(addr = "tcp:127.0.0.1:0"),
    ready = "manual",
    ready_timeout = "2s"
)]
async fn main(ctx: littleboss::Context) {
    println!("version 5 never ready pid={}", std::process::id());
    ctx.lameduck().await;
}
