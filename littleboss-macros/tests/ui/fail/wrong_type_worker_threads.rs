#[littleboss::main(name = "svc", worker_threads = "4")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
