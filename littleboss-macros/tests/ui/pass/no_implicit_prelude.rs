//! Under `#![no_implicit_prelude]`: the expansion names nothing from the
//! prelude, and a `crate` path written from the root (`"::lb"` for a
//! renamed dependency; here the crate's own name) is taken as written.
#![no_implicit_prelude]

#[::littleboss::main(name = "ui-no-prelude", crate = "::littleboss")]
async fn main(ctx: ::littleboss::Context) {
    let _ = ctx;
}
