// A `#[cfg]` on the parameter: rustc hands it to the attribute as
// written, which refuses it rather than pass a `main` whose parameter may
// vanish.
#[littleboss::main(name = "svc")]
async fn main(#[cfg(unix)] ctx: littleboss::Context) {
    let _ = ctx;
}
