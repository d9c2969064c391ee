//! Under `#![no_implicit_prelude]` with the default crate path: the
//! expansion names the crate from the root (`::littleboss`).
#![no_implicit_prelude]

#[::littleboss::main(name = "ui-no-prelude-default")]
async fn main(ctx: ::littleboss::Context) {
    let _ = ctx;
}
