#[littleboss::main(name = "svc")]
fn main() -> Result<(), String> {
    Ok(())
}
