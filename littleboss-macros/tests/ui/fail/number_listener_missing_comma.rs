//! A listener named by a number is fine; the mistake is the missing comma.

#[littleboss::main(name = "svc", listener(2fa = "tcp::1" admin = "tcp::2"))]
async fn main() {}
