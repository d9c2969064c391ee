#[littleboss::main(name = "svc", flag = "-lb")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
