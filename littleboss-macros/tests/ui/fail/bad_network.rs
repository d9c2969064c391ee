#[littleboss::main(name = "svc", listener(http = "sctp::80"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
