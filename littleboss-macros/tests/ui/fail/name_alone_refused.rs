// A service name without its key, and one the rules refuse: not quoted
// back as the fix, lest applying it fail in turn.
#[littleboss::main("my blog")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
