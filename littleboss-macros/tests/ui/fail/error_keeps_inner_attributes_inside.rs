// On an error, the attributes written for the user's function stay on it,
// as in a good expansion: `#[track_caller]` on the generated `fn main`
// would add an error of its own beside the one that matters.
#[littleboss::main(name = "svc", lameduck = "5")]
#[track_caller]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
