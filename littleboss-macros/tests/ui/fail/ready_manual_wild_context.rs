//! The context taken and dropped at once: `ctx.ready()` can never be called.

#[littleboss::main(name = "svc", ready = "manual")]
async fn main(_: littleboss::Context) {}
