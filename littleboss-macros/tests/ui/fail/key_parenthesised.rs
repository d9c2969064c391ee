#[littleboss::main(name("svc"), lameduck("5s"))]
async fn main() {}
