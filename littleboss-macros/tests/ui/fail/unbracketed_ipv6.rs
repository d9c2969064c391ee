#[littleboss::main(name = "svc", listener(http = "tcp6:::1:8080"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
