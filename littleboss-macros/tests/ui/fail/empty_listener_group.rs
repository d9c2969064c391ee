#[littleboss::main(name = "svc", listener())]
async fn main() {}
