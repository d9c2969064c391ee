#[littleboss::main(name = "svc", listener(lb = "tcp::80"), flag = "lb")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
