// One error for one mistake: the grace is not measured against a default
// the user did not mean.
#[littleboss::main(name = "svc", lameduck = "10 s", grace = "3500ms")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
