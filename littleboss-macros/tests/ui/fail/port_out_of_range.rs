#[littleboss::main(name = "svc", listener(http = "tcp::70000"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
