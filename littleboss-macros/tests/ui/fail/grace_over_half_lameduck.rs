#[littleboss::main(name = "svc", lameduck = "4s", grace = "3s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
