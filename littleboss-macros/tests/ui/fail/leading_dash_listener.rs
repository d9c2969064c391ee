// A listener name with a leading dash is named as the builder names it,
// not with syn's parse error.
#[littleboss::main(name = "svc", listener(-admin = "tcp::1"))]
async fn main() {}
