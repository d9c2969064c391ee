#[littleboss::main(name = "svc")]
async fn main(_ctx: littleboss::Context) -> Result<(), Box<dyn std::error::Error>> {
    Ok(())
}
