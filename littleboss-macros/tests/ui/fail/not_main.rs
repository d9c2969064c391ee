#[littleboss::main(name = "svc")]
async fn serve(ctx: littleboss::Context) {
    let _ = ctx;
}
