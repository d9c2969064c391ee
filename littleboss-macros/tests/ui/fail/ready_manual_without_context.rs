#[littleboss::main(name = "svc", ready = "manual")]
async fn main() {}
