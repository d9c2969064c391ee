#[littleboss::main(name = "svc", listener(https "tcp::443"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
