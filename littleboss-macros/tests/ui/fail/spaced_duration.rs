#[littleboss::main(name = "svc", lameduck = 5 s)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
