//! A dashed name is fine; the mistake is the name without a value.

#[littleboss::main(name = "svc", listener(admin-http = "tcp::1", web))]
async fn main() {}
