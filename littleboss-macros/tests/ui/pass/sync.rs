#[littleboss::main(name = "svc", listener(http = "tcp:127.0.0.1:0"))]
fn main(ctx: littleboss::Context) {
    assert!(ctx.tcp("http").is_some());
}
