#[littleboss::main(name = "svc", worker_threads = 0)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
