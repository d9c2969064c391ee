#[littleboss::main(name = "svc", flavor = "multi_thread", worker_threads = 2)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
