// A dashed key that is no key with `_` either: the key it most likely
// means, in one step.
#[littleboss::main(name = "svc", lame-duck = "5s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
