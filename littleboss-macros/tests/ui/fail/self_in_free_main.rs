//! `Self` in a free `main`: it names no type there either, said so (not
//! as if `main` were in an `impl`). Kept as written, as a `main` in an
//! `impl` must be (the attribute cannot tell the two apart), it has
//! rustc add E0752 for an `async fn main` at the top level.

#[littleboss::main(name = "svc")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
    let _: Option<Self> = None;
}
