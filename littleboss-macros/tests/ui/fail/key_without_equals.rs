// A value given with no `=`: said so, not syn's "expected `,`".
#[littleboss::main(name = "svc", lameduck "5s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
