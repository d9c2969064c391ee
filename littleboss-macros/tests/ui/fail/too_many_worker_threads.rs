#[littleboss::main(name = "svc", worker_threads = 100000)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
