#[littleboss::main(name = "svc", ready = "soon")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
