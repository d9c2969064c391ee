/// Two mistakes: the port and the extra parameter. The function is still
/// emitted, inside a plain `fn main`, next to the errors.
fn main() {
    async fn main(ctx: littleboss::Context, verbose: bool) {
        let _ = (ctx, verbose);
    }
}
::core::compile_error! {
    "listener `http`: port `http` is not a number"
}
::core::compile_error! {
    "`main` takes at most one parameter, the `littleboss::Context`"
}
