//! A `main` as users write it beyond the plain form: `pub`, a `mut`
//! context under a `use` alias, with a doc comment, a `cfg` and a lint
//! level on it, all accepted (a pass case fails on errors only: where the
//! lint level lands is not checked here).
use littleboss::Context as Ctx;

/// The service.
#[littleboss::main(name = "ui-signature-forms")]
#[cfg(unix)]
#[allow(unused_mut)]
pub async fn main(mut ctx: Ctx) {
    let _ = ctx.lameduck();
}
