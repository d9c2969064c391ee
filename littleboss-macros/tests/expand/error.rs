/// Two mistakes: the port and the extra parameter. The function is still
/// emitted, inside a plain `fn main`, next to the errors.
#[littleboss::main(name = "svc", listener(http = "tcp::http"))]
async fn main(ctx: littleboss::Context, verbose: bool) {
    let _ = (ctx, verbose);
}
