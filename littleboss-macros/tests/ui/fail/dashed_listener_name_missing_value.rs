// A dashed listener name whose value is left out: the whole name is
// underlined, not its first word.
#[littleboss::main(name = "svc", listener(admin-http))]
async fn main() {}
