#[littleboss::main(name = "svc", persist = "yes")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
