#[littleboss::main(name = "svc", listener(http = "8080"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
