#[littleboss::main(name = "svc", flavor = "current_thread")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
