#[littleboss::main(name = "svc", listener(http = "tcp::http"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
