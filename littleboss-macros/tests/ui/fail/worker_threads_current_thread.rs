#[littleboss::main(name = "svc", worker_threads = 4, flavor = "current_thread")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
