#[littleboss::main(name = "svc")]
struct Main;

fn main() {}
