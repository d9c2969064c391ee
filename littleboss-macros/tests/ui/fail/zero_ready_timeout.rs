#[littleboss::main(name = "svc", ready_timeout = "0s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
