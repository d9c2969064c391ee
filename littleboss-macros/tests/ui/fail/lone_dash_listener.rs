// A `-` alone where a listener name goes is pointed at, not the end of
// the list.
#[littleboss::main(name = "svc", listener(a = "tcp::1", -))]
async fn main() {}
