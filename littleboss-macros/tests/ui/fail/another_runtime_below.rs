#[littleboss::main(name = "svc")]
#[async_std::main]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
