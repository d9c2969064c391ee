#[littleboss::main(name = "svc", grace = 500)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
