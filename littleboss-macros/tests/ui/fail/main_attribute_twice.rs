#[littleboss::main(name = "a")]
#[littleboss::main(name = "b")]
fn main() {}
