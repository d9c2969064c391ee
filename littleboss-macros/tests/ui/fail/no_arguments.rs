#[littleboss::main]
async fn main() {}
