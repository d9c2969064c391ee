// A string with no key, the name given as well: not taken for the name.
#[littleboss::main(name = "svc", lameduck = "2s", "5s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
