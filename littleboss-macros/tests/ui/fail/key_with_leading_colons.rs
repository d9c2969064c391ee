// A key written as a path from the root: said so, not "did you mean" itself.
#[littleboss::main(::name = "svc")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
