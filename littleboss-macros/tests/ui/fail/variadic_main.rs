#[littleboss::main(name = "svc")]
async fn main(ctx: littleboss::Context, _rest: ...) {
    let _ = ctx;
}
