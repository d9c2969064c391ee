#[littleboss::main(name = "svc")]
#[test]
fn main() {}
