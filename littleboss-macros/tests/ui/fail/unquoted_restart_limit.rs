#[littleboss::main(name = "svc", persist = true, restart_limit = 3 in 10s)]
async fn main() {}
