#[littleboss::main(name = "svc")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
