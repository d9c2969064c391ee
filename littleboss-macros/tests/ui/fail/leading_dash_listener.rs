// A listener name with a leading dash is named as the builder names it,
// not syn's "expected identifier".
#[littleboss::main(name = "svc", listener(-admin = "tcp::1"))]
async fn main() {}
