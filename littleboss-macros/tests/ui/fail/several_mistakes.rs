// Independent mistakes are all reported, each on its own tokens.
#[littleboss::main(name = "my blog", listener(http = "tcp::http"), lameduck = "soon", colour = "red")]
async fn main(ctx: littleboss::Context, verbose: bool) {
    let _ = (ctx, verbose);
}
