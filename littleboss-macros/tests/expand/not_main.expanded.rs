/// On the wrong function: it is kept as it is, and a `main` comes in
/// through a glob import so that rustc does not add an error of its own.
async fn serve(ctx: littleboss::Context) {
    let _ = ctx;
}
mod __littleboss_main_instead_of_serve {
    pub fn main() {}
}
use __littleboss_main_instead_of_serve::*;
::core::compile_error! {
    "#[littleboss::main] goes on `fn main`, not on `fn serve`"
}
