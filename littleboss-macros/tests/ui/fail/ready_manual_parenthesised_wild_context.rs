//! The context dropped at once in parentheses: as `_`, `ctx.ready()` can
//! never be called.

#[littleboss::main(name = "svc", ready = "manual")]
#[allow(unused_parens)]
async fn main((_): littleboss::Context) {}
