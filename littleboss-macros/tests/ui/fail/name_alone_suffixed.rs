#[littleboss::main("svc"x)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
