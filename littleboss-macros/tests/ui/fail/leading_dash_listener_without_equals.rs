// A name with a leading dash and its `=` left out: the dash is named,
// not a suggestion of `-admin = "..."`.
#[littleboss::main(name = "svc", listener(-admin "tcp::1"))]
async fn main() {}
