#[littleboss::main(listener(http = "tcp::8080"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
