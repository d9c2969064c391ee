//! A listener named by a keyword is fine; the mistake is the name without
//! a value, and the error says so (not that the keyword is no path).

#[littleboss::main(name = "svc", listener(type = "udp:", web))]
async fn main() {}
