#[littleboss::main(name = "svc", listener(http = "tcp::80"), listener(admin = "tcp:", http = "tcp::8080"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
