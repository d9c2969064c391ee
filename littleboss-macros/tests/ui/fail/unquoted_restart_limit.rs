#[littleboss::main(name = "svc", persist = true, restart_limit = 3 in 10 s)]
async fn main() {}
