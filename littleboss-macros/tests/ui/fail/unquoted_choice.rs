#[littleboss::main(name = "svc", flavor = CurrentThread)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
