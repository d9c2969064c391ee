#[littleboss::main(name = "svc")]
async fn main(ctx: littleboss::Context, verbose: bool, level: u8) {
    let _ = (ctx, verbose, level);
}
