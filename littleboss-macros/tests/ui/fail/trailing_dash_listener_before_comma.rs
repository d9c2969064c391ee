// A listener name ending in a dash, its value left out before the next
// item: the value is what is missing, not a name after the comma.
#[littleboss::main(name = "svc", listener(admin-, web = "tcp::1"))]
async fn main() {}
