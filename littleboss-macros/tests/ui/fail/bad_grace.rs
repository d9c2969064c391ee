#[littleboss::main(name = "svc", grace = "soon")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
