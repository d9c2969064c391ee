#[littleboss::main(name = "svc", listener(help = "tcp::80", h = "tcp::81"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
