#[littleboss::main(name = "svc", listener(http = "tcp:127.0.0.1:8080"), flavor = "current_thread")]
fn main(ctx: littleboss::Context) {
    println!("{:?}", ctx.args());
}
