#[littleboss::main(name = "svc")]
fn main() -> Result<(), String> {
    Err("nothing to do".to_owned())
}
