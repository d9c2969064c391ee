#[littleboss::main(name = "svc", flavor = "single_thread")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
