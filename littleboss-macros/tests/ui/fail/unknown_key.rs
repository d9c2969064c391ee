#[littleboss::main(name = "svc", timeout = "5s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
