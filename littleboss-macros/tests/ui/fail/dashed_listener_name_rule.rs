// An error on a dashed name underlines the whole name, not its first word.
#[littleboss::main(name = "svc", listener(admin-help-me- = "tcp::1", admin-help-me- = "tcp::2"))]
async fn main() {}
