#[littleboss::main(name = "svc", worker-threads = 4)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
