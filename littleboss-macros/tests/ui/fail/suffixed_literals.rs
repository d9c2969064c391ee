#[littleboss::main(
    name = "svc"x,
    lameduck = "5s"ms,
    restart_limit = "5 in 60s"x,
    worker_threads = 4u8,
    listener(http = "tcp::8080"q)
)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
