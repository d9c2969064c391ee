#[littleboss::main("svc")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
