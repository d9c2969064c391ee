#[littleboss::main(name = "svc", listener(littleboss = "tcp::80"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
