#[littleboss::main(name = "svc")]
fn main(ctx: littleboss::Context) -> Result<(), Vec<u8>> {
    let _ = ctx;
    Ok(())
}
